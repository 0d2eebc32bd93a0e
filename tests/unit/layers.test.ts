/**
 * scripts/layers.ts on small fixture trees, one per rule, then on the repository itself.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkLayers, DEFAULT_RULES, formatFindings, readGraph, summaryLine } from "../../scripts/layers";

const ROOT = join(__dirname, "..", "..");

const trees: string[] = [];
afterAll(() => trees.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A repository made of just these files (path → text). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "stackport-layers-"));
  trees.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const findings = (files: Record<string, string>) => formatFindings(checkLayers(tree(files)));

/** The line the checker prints for a violation of `rule` along `chain`. */
function line(rule: string, ...chain: string[]): string {
  const { why } = DEFAULT_RULES.find((r) => r.name === rule)!;
  return `${chain.join(" → ")}: ${rule}: ${why}`;
}

describe("a: the library imports nothing of the program", () => {
  it.each([
    "src/config/index.ts",
    "policies/index.ts",
    "scripts/bench.ts",
    "tests/harness.ts",
    "examples/x.ts",
  ])("components/ → %s is a violation", (target) => {
    const specifier = `../../${target.replace(/\.ts$/, "")}`;
    expect(
      findings({
        "components/storage/contract.ts": `import { x } from "${specifier}";\n`,
        [target]: "export const x = 1;\n",
      }),
    ).toEqual([line("library-knows-no-program", "components/storage/contract.ts", target)]);
  });

  it("counts an `import type` and a require() the same", () => {
    expect(
      findings({
        "components/storage/contract.ts": `import type { Config } from "../../src/config";\n`,
        "components/storage/s3Storage.ts": `const { load } = require("../../src/config/load");\n`,
        "src/config/index.ts": "export interface Config {}\n",
        "src/config/load.ts": "export const load = 1;\n",
      }),
    ).toEqual([
      line("library-knows-no-program", "components/storage/contract.ts", "src/config/index.ts"),
      line("library-knows-no-program", "components/storage/s3Storage.ts", "src/config/load.ts"),
    ]);
  });

  it("lets the program import the library", () => {
    expect(
      findings({
        "src/program.ts": `import { Storage } from "../components/storage/contract";\n`,
        "components/storage/contract.ts": "export interface Storage {}\n",
      }),
    ).toEqual([]);
  });
});

describe("b: components/shared/ imports only itself and the tiers' contracts", () => {
  it("may import a contract, not a target or a tier's implementation", () => {
    expect(
      findings({
        "components/shared/naming.ts": `import { a } from "./labels";\nimport { b } from "../targets/docker";\nimport { c } from "../storage/contract";\nimport { d } from "../storage/settings";\n`,
        "components/shared/labels.ts": "export const a = 1;\n",
        "components/targets/docker.ts": "export const b = 1;\n",
        "components/storage/contract.ts": "export const c = 1;\n",
        "components/storage/settings.ts": "export const d = 1;\n",
      }),
    ).toEqual([
      line("shared-is-the-base", "components/shared/naming.ts", "components/storage/settings.ts"),
      line("shared-is-the-base", "components/shared/naming.ts", "components/targets/docker.ts"),
    ]);
  });

  it("a contract may import shared code and other contracts, never an implementation", () => {
    expect(
      findings({
        "components/storage/contract.ts": `import { a } from "../shared/naming";\nimport type { B } from "../database/contract";\nimport { c } from "./settings";\n`,
        "components/shared/naming.ts": "export const a = 1;\n",
        "components/database/contract.ts": "export interface B {}\n",
        "components/storage/settings.ts": "export const c = 1;\n",
      }),
    ).toEqual([
      line("contracts-are-vocabulary", "components/storage/contract.ts", "components/storage/settings.ts"),
    ]);
  });
});

describe("c: components/targets/ imports only shared/ and targets/", () => {
  it("may not import a tier, not even its contract", () => {
    expect(
      findings({
        "components/targets/docker.ts": `import { a } from "../shared/naming";\nimport { b } from "./hostPrep";\nimport type { Storage } from "../storage/contract";\n`,
        "components/shared/naming.ts": "export const a = 1;\n",
        "components/targets/hostPrep.ts": "export const b = 1;\n",
        "components/storage/contract.ts": "export interface Storage {}\n",
      }),
    ).toEqual([
      line("targets-know-no-tier", "components/targets/docker.ts", "components/storage/contract.ts"),
    ]);
  });
});

describe("d: a tier uses another tier only through its contract.ts or settings.ts", () => {
  const tiers = {
    "components/shared/naming.ts": "export const naming = 1;\n",
    "components/targets/docker.ts": "export const docker = 1;\n",
    "components/storage/contract.ts": "export interface Storage {}\n",
    "components/storage/settings.ts": "export const STORAGE_HOST = 1;\n",
    "components/storage/s3Storage.ts": "export const s3 = 1;\n",
    "components/ingestion/serviceEnv.ts": "export const env = 1;\n",
  };

  it("may import shared/, targets/, its own folder and another tier's contract.ts and settings.ts", () => {
    expect(
      findings({
        ...tiers,
        "components/ingestion/ecsIngestion.ts": [
          `import { naming } from "../shared/naming";`,
          `import { docker } from "../targets/docker";`,
          `import { env } from "./serviceEnv";`,
          `import type { Storage } from "../storage/contract";`,
          `import { STORAGE_HOST } from "../storage/settings";`,
        ].join("\n"),
      }),
    ).toEqual([]);
  });

  it("may not import another tier's implementation, nor a library entry file", () => {
    expect(
      findings({
        ...tiers,
        "components/index.ts": "export const entry = 1;\n",
        "components/ingestion/ecsIngestion.ts": `import { s3 } from "../storage/s3Storage";\nimport { entry } from "..";\n`,
      }),
    ).toEqual([
      line("tiers-meet-through-contracts", "components/ingestion/ecsIngestion.ts", "components/index.ts"),
      line(
        "tiers-meet-through-contracts",
        "components/ingestion/ecsIngestion.ts",
        "components/storage/s3Storage.ts",
      ),
    ]);
  });

  it("e: lets the library entry files re-export every tier", () => {
    const reexports = `export * from "./storage/s3Storage";\nexport * from "./ingestion/serviceEnv";\n`;
    expect(
      findings({
        ...tiers,
        "components/index.ts": reexports,
        "components/docker.ts": reexports,
        "components/aws.ts": reexports,
      }),
    ).toEqual([]);
  });
});

describe("f–h: the program's layers", () => {
  const program = {
    "src/platform.ts": "export const p = 1;\n",
    "src/platform/build.ts": "export const p = 1;\n",
    "src/ops/cli.ts": "export const o = 1;\n",
    "src/synth/run.ts": "export const s = 1;\n",
    "src/index.ts": "export const i = 1;\n",
    "src/program.ts": "export const r = 1;\n",
    "src/config/schema.ts": "export const c = 1;\n",
  };

  it.each([
    "src/platform.ts",
    "src/platform/build.ts",
    "src/ops/cli.ts",
    "src/synth/run.ts",
    "src/index.ts",
    "src/program.ts",
  ])("f: src/config/ → %s is a violation", (target) => {
    expect(
      findings({
        ...program,
        "src/config/load.ts": `import "../${target.slice("src/".length, -".ts".length)}";\n`,
      }),
    ).toEqual([line("config-below-platform", "src/config/load.ts", target)]);
  });

  it.each(["src/platform.ts", "src/platform/build.ts"])(
    "g: %s may import config, but not ops, synth or the entry",
    (from) => {
      const up = from.includes("/platform/") ? "../" : "./";
      expect(
        findings({
          ...program,
          [from]: ["config/schema", "ops/cli", "synth/run", "index"]
            .map((t) => `import "${up}${t}";`)
            .join("\n"),
        }),
      ).toEqual(
        ["src/index.ts", "src/ops/cli.ts", "src/synth/run.ts"].map((to) =>
          line("platform-below-commands", from, to),
        ),
      );
    },
  );

  it("h: synth may not import ops, ops may import synth", () => {
    expect(
      findings({
        ...program,
        "src/synth/render.ts": `import { o } from "../ops/cli";\n`,
        "src/ops/review.ts": `import { s } from "../synth/run";\n`,
      }),
    ).toEqual([line("synth-below-ops", "src/synth/render.ts", "src/ops/cli.ts")]);
  });
});

describe("i: the policy pack stands alone", () => {
  it("may import within policies/ and packages, nothing else of ours", () => {
    expect(
      findings({
        "policies/index.ts": `import { rules } from "./rules";\nimport { PolicyPack } from "@pulumi/policy";\n`,
        "policies/rules/index.ts": `import { labels } from "../../components/shared/labels";\nexport const rules = [labels];\n`,
        "components/shared/labels.ts": "export const labels = 1;\n",
      }),
    ).toEqual([line("policies-stand-alone", "policies/rules/index.ts", "components/shared/labels.ts")]);
  });
});

describe("j: what the library entry files load at run time", () => {
  const shared = {
    "components/shared/aws.ts": `import * as aws from "@pulumi/aws";\nexport type Tags = aws.Tags;\nexport const region = aws.config.region;\n`,
    "components/shared/naming.ts": "export const name = (s: string) => s;\n",
  };

  it("the root entry may not load @pulumi/aws, directly or through our files, each shown with its chain", () => {
    expect(
      findings({
        ...shared,
        "components/index.ts": `export * from "./shared/aws";\nconst s3 = require("@pulumi/aws/s3");\n`,
      }),
    ).toEqual([
      line("root-entry-loads-no-provider", "components/index.ts", "components/shared/aws.ts", "@pulumi/aws"),
      line("root-entry-loads-no-provider", "components/index.ts", "@pulumi/aws/s3"),
    ]);
  });

  it("the root entry may not load @pulumi/docker; the Docker entry may, but not @pulumi/aws", () => {
    expect(
      findings({
        ...shared,
        "components/index.ts": `import * as docker from "@pulumi/docker";\n`,
        "components/docker.ts": `import * as docker from "@pulumi/docker";\nimport { region } from "./shared/aws";\n`,
      }),
    ).toEqual([
      line("docker-entry-loads-no-aws", "components/docker.ts", "components/shared/aws.ts", "@pulumi/aws"),
      line("root-entry-loads-no-provider", "components/index.ts", "@pulumi/docker"),
    ]);
  });

  it("type-only imports and import() do not load a module when the entry loads", () => {
    expect(
      findings({
        ...shared,
        "components/index.ts": [
          `import type * as aws from "@pulumi/aws";`,
          `import { type Bucket } from "@pulumi/aws/s3";`,
          `export type { Tags } from "./shared/aws";`,
          `export { type Tags as AwsTags } from "./shared/aws";`,
          `export { name } from "./shared/naming";`,
          `export type Docker = typeof import("@pulumi/docker");`,
          `export const later = () => import("@pulumi/aws");`,
        ].join("\n"),
        "components/docker.ts": `import type { Tags } from "./shared/aws";\n`,
      }),
    ).toEqual([]);
  });

  it("lets the AWS entry load @pulumi/aws, and checks no entry that does not exist", () => {
    expect(findings({ ...shared, "components/aws.ts": `export * from "./shared/aws";\n` })).toEqual([]);
  });
});

describe("cycles", () => {
  it("finds a 2-file cycle", () => {
    expect(
      findings({
        "src/a.ts": `import { b } from "./b";\nexport const a = 1;\n`,
        "src/b.ts": `import { a } from "./a";\nexport const b = 1;\n`,
      }),
    ).toEqual(["cycle: src/a.ts → src/b.ts → src/a.ts"]);
  });

  it("finds a 3-file cycle made only of `import type`, in loop order", () => {
    expect(
      findings({
        "src/x.ts": `import type { Z } from "./z";\nexport interface X { z: Z }\n`,
        "src/y.ts": `import type { X } from "./x";\nexport interface Y { x: X }\n`,
        "src/z.ts": `import type { Y } from "./y";\nexport interface Z { y: Y }\n`,
        "src/w.ts": `import type { X } from "./x";\n`,
      }),
    ).toEqual(["cycle: src/x.ts → src/z.ts → src/y.ts → src/x.ts"]);
  });

  it("finds a file that imports itself, and each separate cycle once", () => {
    expect(
      findings({
        "scripts/self.ts": `export * from "./self";\n`,
        "src/a.ts": `import "./b";\n`,
        "src/b.ts": `const a = require("./a");\n`,
        "src/c.ts": `import "./a";\nimport "./d";\n`,
        "src/d.ts": `export const load = () => import("./c");\n`,
      }),
    ).toEqual([
      "cycle: scripts/self.ts → scripts/self.ts",
      "cycle: src/a.ts → src/b.ts → src/a.ts",
      "cycle: src/c.ts → src/d.ts → src/c.ts",
    ]);
  });

  it("walks a tangle of loops as one cycle through every file, each step a real import", () => {
    // a → b → a and a → c → a: one strongly connected component, no single loop through all three.
    expect(
      findings({
        "src/a.ts": `import "./b";\nimport "./c";\n`,
        "src/b.ts": `import "./a";\n`,
        "src/c.ts": `import "./a";\n`,
      }),
    ).toEqual(["cycle: src/a.ts → src/b.ts → src/a.ts → src/c.ts → src/a.ts"]);
  });
});

describe("reading the import graph", () => {
  it("resolves ./dir to ./dir/index.ts and ./x to ./x.ts, and records packages", () => {
    const root = tree({
      "src/a.ts": `import { b } from "./dir";\nimport { c } from "./c";\nimport { parse } from "yaml";\n`,
      "src/dir/index.ts": "export const b = 1;\n",
      "src/c.ts": "export const c = 1;\n",
    });
    expect(readGraph(root).imports).toEqual([
      { from: "src/a.ts", to: "src/dir/index.ts", external: false, kind: "static" },
      { from: "src/a.ts", to: "src/c.ts", external: false, kind: "static" },
      { from: "src/a.ts", to: "yaml", external: true, kind: "static" },
    ]);
  });

  it("keeps one import per target, of the kind that loads soonest", () => {
    const root = tree({
      "src/a.ts": `import type { B } from "./b";\nexport const later = () => import("./b");\nimport "./b";\n`,
      "src/b.ts": "export interface B {}\n",
    });
    expect(readGraph(root).imports).toEqual([
      { from: "src/a.ts", to: "src/b.ts", external: false, kind: "static" },
    ]);
  });

  it("takes no import from a string, a comment or a computed require()", () => {
    const root = tree({
      "scripts/bench.ts": [
        "// import { x } from '../src/config';",
        'const code = `require("../src/config")`;',
        "const where = 'x';",
        "require(where);",
      ].join("\n"),
    });
    expect(readGraph(root).imports).toEqual([]);
  });

  it("walks only our source folders, skipping node_modules, bin and .d.ts files", () => {
    const root = tree({
      "components/shared/naming.ts": "export const a = 1;\n",
      "components/node_modules/dep/index.ts": `import "../../../src/config";\n`,
      "components/bin/out.ts": `import "../../src/config";\n`,
      "components/shared/global.d.ts": `import "../../src/config";\n`,
      "tests/unit/x.test.ts": `import "../../src/config";\n`,
      "src/config/index.ts": "export {};\n",
    });
    const report = checkLayers(root);
    expect(report.files).toEqual(["components/shared/naming.ts", "src/config/index.ts"]);
    expect(summaryLine(report)).toBe("layers: 2 files, no imports, no violations, no cycles");
  });
});

describe("the repository", () => {
  it("the repository keeps its layers and has no import cycles", () => {
    // Every violation and cycle, one per line, so a failure reads as a to-do list.
    expect(formatFindings(checkLayers(ROOT))).toEqual([]);
  });
});
