import { DockerTarget } from "../../src/targets/docker";
import type { DockerTargetConfig } from "../../src/config";

/** A Docker target for component tests: the local socket unless a host is given. */
export function testPlacement(config: Partial<DockerTargetConfig> = {}) {
  return new DockerTarget("test-target", {
    config: { kind: "docker", dataRoot: "/srv/stackport", isolateBackend: false, ...config },
  }).placement;
}
