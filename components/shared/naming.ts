import { createHash } from "node:crypto";

/** Docker object names: [a-zA-Z0-9][a-zA-Z0-9_.-]; we keep them lower-case and short enough to read. */
const DOCKER_NAME_MAX = 63;

/**
 * The one physical-name helper. Joins stable parts with '-'. A name that would be too long keeps its readable
 * prefix and gets a hash of the full name, so two long names never collapse into one (no silent truncation).
 * @throws on characters the backend does not allow, naming the offending part
 */
export function physicalName(parts: string[], max = DOCKER_NAME_MAX): string {
  for (const part of parts) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(part)) {
      throw new Error(`physical name part '${part}' must be lower-case letters, digits and '-'`);
    }
  }
  const full = parts.join("-");
  if (full.length <= max) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  return `${full.slice(0, max - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}
