/**
 * The production change of issue #17, as two real offline plans: the base is `Pulumi.production.yaml`; the head
 * adds an ingestion service (`export`), removes the `logs` bucket and the scheduled `nightly` job, and moves the
 * database to a larger instance class. Synthesized one after the other: a synth sets the process's Pulumi runtime.
 */
import { evaluatePolicies, safetyContext } from "../../src/synth/policy";
import { planDocument, type PlanDocument } from "../../src/synth/render";
import { synthesize } from "../../src/synth/run";
import { readStackFile, type StackFile } from "../../src/synth/stackFile";
import { ROOT } from "../harness";

export const NEW_INSTANCE_CLASS = "db.r6g.large";

async function plan(file: StackFile): Promise<PlanDocument> {
  const environment = file.config["stackport:environment"] ?? file.stack;
  const recorded = await synthesize(file);
  const violations = await evaluatePolicies(recorded.resources, file.stack, environment, ROOT);
  return planDocument(recorded, violations, safetyContext(ROOT, file.stack, environment));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a config document edited by key path, as YAML has it
type Doc = Record<string, any>;

/** Edits one `stackport:<key>` config value (a JSON document in the stack file's config). */
function edit(file: StackFile, key: string, change: (doc: Doc) => void): StackFile {
  const doc = JSON.parse(file.config[`stackport:${key}`]!) as Doc;
  change(doc);
  return { ...file, config: { ...file.config, [`stackport:${key}`]: JSON.stringify(doc) } };
}

export async function productionChange(): Promise<{ base: PlanDocument; head: PlanDocument }> {
  const file = readStackFile(ROOT, "production");
  const base = await plan(file);
  let changed = edit(file, "storage", (s) => delete s.buckets.logs);
  changed = edit(changed, "ingestion", (i) => {
    delete i.services.nightly;
    i.services.export = {
      image: "ghcr.io/example/ingest-api:1.4.2",
      command: ["uvicorn", "app.export:app", "--host", "0.0.0.0", "--port", "8100"],
      port: 8100,
      health: { path: "/healthz" },
      connections: { database: "app_writer", storage: ["derived"] },
      route: { host: "export.platform.example.org" },
      aws: { cpu: 256, memoryMb: 512, minTasks: 2, maxTasks: 4 },
    };
  });
  changed = edit(changed, "database", (d) => (d.aws.instanceClass = NEW_INSTANCE_CLASS));
  const head = await plan(changed);
  return { base, head };
}
