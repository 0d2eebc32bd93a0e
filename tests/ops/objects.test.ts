/**
 * The pure half of the storage cutover's object mirror: where it runs, the bucket pairs its scripts read, the
 * credentials URL mc reads, and the IAM policy of the S3 side's key.
 */
import fc from "fast-check";
import { mcHostUrl } from "../../components/storage/contract";
import { mirrorPolicyDocument } from "../../components/storage/s3MirrorCredentials";
import {
  formatBucketPairs,
  objectMirrorPlan,
  renderObjectMirrorScript,
  type TargetKind,
} from "../../src/ops/cutover/objects";

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

describe("mcHostUrl", () => {
  it("percent-encodes credentials so that AWS secret keys with '/' and '+' keep the URL intact", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (key, secret) => {
        const url = new URL(mcHostUrl("https://s3.eu-central-1.amazonaws.com", key, secret));
        expect(decodeURIComponent(url.username)).toBe(key);
        expect(decodeURIComponent(url.password)).toBe(secret);
        expect(url.host).toBe("s3.eu-central-1.amazonaws.com");
      }),
    );
    expect(mcHostUrl("http://storage:9000", "root", "a/b+c")).toBe("http://root:a%2Fb%2Bc@storage:9000");
  });

  it("refuses an endpoint that is not http(s)", () => {
    expect(() => mcHostUrl("ftp://storage", "a", "b")).toThrow("must be an http:// or https:// URL");
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

describe("continuous mirror script", () => {
  it("refuses an interval that is not a whole number of seconds", () => {
    expect(() => renderObjectMirrorScript({ intervalSeconds: 0 })).toThrow("≥ 1");
    expect(renderObjectMirrorScript({ intervalSeconds: 5 })).toContain("INTERVAL_SECONDS=5");
  });
});
