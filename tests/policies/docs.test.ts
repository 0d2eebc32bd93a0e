/** docs/policies.md is generated from rule metadata; it must be what the generator renders now. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { allRules } from "../../policies/rules";
import { renderPolicyDocs } from "../../scripts/policy-docs";

it("docs/policies.md is in step with the rules (regenerate: npm run build && node bin/scripts/policy-docs.js)", () => {
  const committed = readFileSync(join(__dirname, "..", "..", "docs", "policies.md"), "utf8");
  expect(committed).toBe(renderPolicyDocs());
});

it("lists every rule", () => {
  const doc = renderPolicyDocs();
  for (const r of allRules) expect(doc).toMatch(new RegExp(`^\\| \`${r.name}\` +\\|`, "m"));
});
