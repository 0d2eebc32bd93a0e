const pulumi = require("@pulumi/pulumi");
const plan = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
function classFor(type) {
  if (type.startsWith("pulumi:providers:")) { const pkg = type.split(":")[2]; return require(`@pulumi/${pkg}`).Provider; }
  const [pkg, mod, cls] = type.split(":");
  if (pkg === "stackport") return undefined;
  const dir = mod.split("/")[0];
  const m = dir === "index" ? require(`@pulumi/${pkg}`) : require(`@pulumi/${pkg}/${dir}`);
  const C = m[cls] ?? (require(`@pulumi/${pkg}`)[dir] || {})[cls];
  if (!C) throw new Error("no class for " + type);
  return C;
}
class Component extends pulumi.ComponentResource { constructor(t, n, o) { super(t, n, {}, o); } }
async function main() {
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) }, "floor", "floor", false, "organization");
  await pulumi.runtime.runInPulumiStack(async () => {
    const byName = new Map();
    for (const r of plan.resources) {
      const opts = {};
      if (r.parent && byName.has(r.parent)) opts.parent = byName.get(r.parent);
      if (r.provider && byName.has(r.provider)) opts.provider = byName.get(r.provider);
      const C = classFor(r.type);
      byName.set(r.name, C ? new C(r.name, r.inputs, opts) : new Component(r.type, r.name, opts));
    }
    return {};
  });
  await pulumi.runtime.waitForRPCs();
}
main().catch((e) => { console.error(e); process.exit(1); });
