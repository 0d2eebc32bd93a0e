/** The plan document `npm run synth --json` prints: the same plan gives the same bytes, whatever the order of events. */
import fc from "fast-check";
import { type Violation, planDocument } from "../../src/synth/render";

const violation = fc.record({
  policy: fc.constantFrom("docker-healthcheck", "aws-s3-versioning", "stateful-protected"),
  enforcementLevel: fc.constantFrom("advisory", "mandatory"),
  severity: fc.constantFrom("low", "high"),
  type: fc.constantFrom("docker:index/container:Container", "aws:s3/bucketV2:BucketV2"),
  name: fc.constantFrom("a-1", "a-2", "b", "storage-logs"),
  message: fc.constantFrom("no health check", "versioning off"),
});
const plan = { stack: "s", project: "p", resources: [], outputs: [] };

test("violations come out in one order, whatever order the policies reported them in", () => {
  fc.assert(
    fc.property(fc.array(violation, { maxLength: 12 }), fc.nat(), (violations: Violation[], seed) => {
      const shuffled = [...violations].sort(() => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 3) - 1);
      expect(JSON.stringify(planDocument(plan, shuffled))).toBe(
        JSON.stringify(planDocument(plan, violations)),
      );
    }),
  );
  const [first, second] = planDocument(plan, [
    { policy: "b", enforcementLevel: "advisory", severity: "low", type: "t", name: "x", message: "m" },
    { policy: "a", enforcementLevel: "advisory", severity: "low", type: "t", name: "y", message: "m" },
  ]).violations;
  expect([first!.policy, second!.policy]).toEqual(["a", "b"]);
});
