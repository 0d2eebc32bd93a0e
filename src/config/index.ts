export * from "./errors";
export * from "./resolve";
export * from "./schema";
export * from "./stack";
export * from "./upstreams";
export { loadStackConfig, rawNamespace } from "./load";
