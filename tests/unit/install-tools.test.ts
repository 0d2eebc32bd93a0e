/** The one list of Debian packages the real-tool tests need: scripts/install-tools.sh installs it, the README names it. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../harness";

const scriptPackages = () => {
  const m = /^DEBIAN_PACKAGES=\(([^)]*)\)$/m.exec(
    readFileSync(join(ROOT, "scripts/install-tools.sh"), "utf8"),
  );
  if (!m) throw new Error("scripts/install-tools.sh has no DEBIAN_PACKAGES=(…) line");
  return m[1]!.trim().split(/\s+/);
};

/** Packages of Debian's essential set: on every machine, never installed by the script. */
const ESSENTIAL = new Set(["bash", "dash", "coreutils/findutils/diffutils", "perl-base"]);

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? testFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

test("every package a test asks for with requireTool is one the install script installs", () => {
  const asked = new Set(
    testFiles(join(ROOT, "tests")).flatMap((f) =>
      [...readFileSync(f, "utf8").matchAll(/requireTool\(\s*[^,]+,\s*"([^"]+)"\s*\)/g)].map((m) => m[1]!),
    ),
  );
  expect(asked.size).toBeGreaterThan(4);
  expect([...asked].filter((p) => !ESSENTIAL.has(p) && !scriptPackages().includes(p))).toEqual([]);
});

test("the README names exactly the script's packages, and .ci/run installs through the script", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8").replace(/\s+/g, " ");
  expect(readme).toContain(`Debian packages \`${scriptPackages().join(" ")}\``);
  expect(readme).toContain("sudo bash scripts/install-tools.sh");
  expect(readFileSync(join(ROOT, ".ci/run"), "utf8")).toMatch(/^bash scripts\/install-tools\.sh$/m);
});
