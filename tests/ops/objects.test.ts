/**
 * The pure half of the storage cutover's object mirror: where it runs, the bucket pairs its scripts read, the
 * credentials URL mc reads, and the IAM policy of the S3 side's key.
 */
import fc from "fast-check";
import { mcHostUrl } from "../../components/storage/contract";
import { mirrorPolicyDocument } from "../../components/storage/s3MirrorCredentials";
import { ObjectMirror } from "../../components/storage/objectMirror";
import { formatBucketPairs, renderObjectMirrorScript } from "../../components/storage/objectMirrorScripts";
import { type TargetKind, objectMirrorPlan } from "../../src/config/phases";

const kinds =
  (map: Record<string, TargetKind>) =>
  (t: string): TargetKind =>
    map[t]!;

describe("objectMirrorPlan", () => {
  it("runs on the Docker side whichever direction the cutover goes; the S3 side is the remote one", () => {
    const kindOf = kinds({ homelab: "docker", cloud: "aws" });
    expect(objectMirrorPlan({ from: "homelab", to: "cloud" }, kindOf)).toEqual({
      runsOn: "homelab",
      remote: "target",
    });
    expect(objectMirrorPlan({ from: "cloud", to: "homelab" }, kindOf)).toEqual({
      runsOn: "homelab",
      remote: "source",
    });
  });

  it("between two Docker hosts: on the source unless `mirror.on` says otherwise, with the remote endpoint", () => {
    const kindOf = kinds({ laptop: "docker", homelab: "docker" });
    const remoteEndpoint = "http://homelab.lan:9000";
    expect(objectMirrorPlan({ from: "laptop", to: "homelab", mirror: { remoteEndpoint } }, kindOf)).toEqual({
      runsOn: "laptop",
      remote: "target",
    });
    expect(
      objectMirrorPlan({ from: "laptop", to: "homelab", mirror: { on: "homelab", remoteEndpoint } }, kindOf),
    ).toEqual({ runsOn: "homelab", remote: "source" });
    expect(objectMirrorPlan({ from: "laptop", to: "homelab" }, kindOf)).toMatchObject({
      key: "mirror.remoteEndpoint",
    });
  });

  it("refuses two AWS sides and a mirror host that is not a Docker side of the cutover", () => {
    expect(objectMirrorPlan({ from: "a", to: "b" }, () => "aws")).toMatchObject({
      key: "mirror",
      problem: expect.stringContaining("use S3 Replication"),
    });
    const kindOf = kinds({ homelab: "docker", cloud: "aws", nas: "docker" });
    expect(objectMirrorPlan({ from: "homelab", to: "cloud", mirror: { on: "nas" } }, kindOf)).toMatchObject({
      key: "mirror.on",
    });
    expect(objectMirrorPlan({ from: "homelab", to: "cloud", mirror: { on: "cloud" } }, kindOf)).toMatchObject(
      {
        key: "mirror.on",
        problem: "'cloud' is not a Docker target; the mirror runs in a container on 'homelab'",
      },
    );
  });
});

describe("formatBucketPairs", () => {
  it("is sorted by key, so the container's environment does not change with config order", () => {
    expect(
      formatBucketPairs([
        { key: "tiles", source: "tiles", target: "stackport-prod-tiles-1a2b" },
        { key: "raw", source: "raw", target: "stackport-prod-raw-1a2b" },
      ]),
    ).toBe("raw=raw=stackport-prod-raw-1a2b tiles=tiles=stackport-prod-tiles-1a2b");
  });

  it("refuses what the scripts could not split: no buckets, and names outside the S3 rules", () => {
    expect(() => formatBucketPairs([])).toThrow("at least one bucket");
    expect(() => formatBucketPairs([{ key: "raw", source: "raw", target: "a=b" }])).toThrow(
      "bucket 'a=b' (raw, target) is not an S3 bucket name",
    );
    expect(() => formatBucketPairs([{ key: "Raw", source: "raw", target: "raw" }])).toThrow(
      "bucket key 'Raw'",
    );
  });

  it("every valid pair survives the script's split (key, source, target separated by '=')", () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]$/);
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,10}$/), name, name, (key, source, target) => {
        const word = formatBucketPairs([{ key, source, target }]);
        const [k, s, t, ...rest] = word.split("=");
        expect({ k, s, t, rest }).toEqual({ k: key, s: source, t: target, rest: [] });
      }),
    );
  });
});

/**
 * mc's own reading of `MC_HOST_<alias>` (minio/mc RELEASE.2025-08-13T08-35-41Z `cmd/config.go`, `parseEnvURLStr`):
 * the two regular expressions in the order mc tries them, parts taken raw. Go's `.` is any character but `\n`.
 */
function mcReads(value: string): { key: string; secret: string; token: string; host: string } | undefined {
  const withToken = /^(https?:\/\/)([^\n]*?):([^\n]*?):([^\n]*)@([^\n]*?)$/.exec(value);
  if (withToken)
    return { key: withToken[2]!, secret: withToken[3]!, token: withToken[4]!, host: withToken[5]! };
  const plain = /^(https?:\/\/)([^\n]*?):([^\n]*)@([^\n]*?)$/.exec(value);
  if (plain) return { key: plain[2]!, secret: plain[3]!, token: "", host: plain[4]! };
  return undefined;
}

describe("mcHostUrl", () => {
  const S3 = "https://s3.eu-central-1.amazonaws.com";
  const credential = fc.string({ minLength: 1, unit: "grapheme" }).filter((s) => !/[:\r\n]/.test(s));

  it("passes credentials raw, as mc reads them: any key and secret without ':' or a line break round-trip", () => {
    fc.assert(
      fc.property(credential, credential, (key, secret) => {
        expect(mcReads(mcHostUrl(S3, key, secret, "test"))).toEqual({
          key,
          secret,
          token: "",
          host: "s3.eu-central-1.amazonaws.com",
        });
      }),
    );
    // An AWS secret key: '/' and '+' stay as they are (percent-encoding them sent '%2F' as the secret).
    expect(mcHostUrl("http://storage:9000", "AKIAEXAMPLE", "wJalr/XUtn+FEMI", "test")).toBe(
      "http://AKIAEXAMPLE:wJalr/XUtn+FEMI@storage:9000",
    );
  });

  it("refuses what mc would misread, naming whose credential it is (never the credential)", () => {
    const misread = fc.oneof(
      fc.tuple(credential, credential).map(([a, b]) => `${a}:${b}`),
      fc.tuple(credential, credential).map(([a, b]) => `${a}\n${b}`),
    );
    fc.assert(
      fc.property(misread, credential, (bad, good) => {
        // mc would indeed take something else than what was meant ...
        const asKey = mcReads(`https://${bad}:${good}@h`);
        const asSecret = mcReads(`https://${good}:${bad}@h`);
        expect(asKey === undefined || asKey.key !== bad).toBe(true);
        expect(asSecret === undefined || asSecret.secret !== bad || asSecret.token !== "").toBe(true);
        // ... so stackport refuses both places, before any container sees it.
        expect(() => mcHostUrl(S3, bad, good, "mirror: the target side")).toThrow(
          /^mirror: the target side: the access key contains (':'|a line break)/,
        );
        expect(() => mcHostUrl(S3, good, bad, "mirror: the target side")).toThrow(
          /^mirror: the target side: the secret key contains (':'|a line break)/,
        );
      }),
    );
    expect(() => mcHostUrl(S3, "AKIA", "wJalr:XUtnFEMI", "x")).toThrow(
      "x: the secret key contains ':', which mc reads as the end of the key or the start of a session token; give it a credential without ':' or line breaks",
    );
    expect(() => mcHostUrl(S3, "", "s", "x")).toThrow("x: the access key is empty");
    expect(() => mcHostUrl(S3, "k", "", "x")).toThrow("x: the secret key is empty");
  });

  it("refuses an endpoint that is not http(s)", () => {
    expect(() => mcHostUrl("ftp://storage", "a", "b", "x")).toThrow(
      "x: S3 endpoint 'ftp://storage' must be an http:// or https:// URL",
    );
  });
});

describe("mirror IAM policy", () => {
  const arns = ["arn:aws:s3:::stackport-prod-tiles-1a2b", "arn:aws:s3:::stackport-prod-raw-1a2b"];
  const actionsOf = (doc: { Statement: { Action: string | string[] }[] }) =>
    doc.Statement.flatMap((s) => s.Action);

  it("reads only when S3 is the source; writes and deletes only objects when it is the target", () => {
    expect(actionsOf(mirrorPolicyDocument({ bucketArns: arns, writable: false }))).toEqual([
      "s3:GetBucketLocation",
      "s3:ListBucket",
      "s3:GetObject",
      "s3:GetObjectVersion",
    ]);
    const write = mirrorPolicyDocument({ bucketArns: arns, writable: true });
    expect(write.Statement.find((s) => s.Sid === "WriteObjects")).toEqual({
      Sid: "WriteObjects",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
      Resource: [`${arns[1]}/*`, `${arns[0]}/*`],
    });
  });
});

describe("continuous mirror", () => {
  const side = {
    endpoint: "http://storage:9000",
    accessKeyId: "k",
    secretAccessKey: "s",
    buckets: { raw: "raw" },
  };
  it("refuses an interval that is not a whole number of seconds, and a target missing a bucket", () => {
    expect(
      () =>
        new ObjectMirror("mirror", {
          placement: {} as never,
          mode: "continuous",
          intervalSeconds: 0.5,
          source: side,
          target: { ...side, buckets: {} },
        }),
    ).toThrow(
      [
        "Invalid args for stackport:docker:ObjectMirror 'mirror' (2 problems):",
        "  - target.buckets: has no bucket for raw",
        "  - intervalSeconds: must be a whole number of seconds ≥ 1, not 0.5",
      ].join("\n"),
    );
    expect(renderObjectMirrorScript({ intervalSeconds: 5 })).toContain("INTERVAL_SECONDS=5");
  });
});
