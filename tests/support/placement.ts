import { DockerTarget, type DockerTargetArgs } from "../../components/targets/docker";

/** A Docker target for component tests: the local socket unless a host is given. */
export function testPlacement(args: DockerTargetArgs = {}) {
  return new DockerTarget("test-target", args).placement;
}
