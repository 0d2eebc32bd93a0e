export * from "./errors";
export * from "./resolve";
export * from "./schema";
export * from "./stack";
export * from "./upstreams";
export * from "./tiers/targets";
export { loadStackConfig, rawNamespace } from "./load";
export * from "./tiers/storage";
export * from "./tiers/database";
