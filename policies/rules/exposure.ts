/**
 * Who can reach what through the Docker proxy (Caddy): every proxied route restricted to client networks,
 * authenticated, or marked public; admin UIs authenticated; nothing proxied over plain HTTP. The rules read what the
 * proxy serves — the Caddyfile uploaded into its container — and the proxy component's own inputs (its routes, TLS
 * mode: what the renderer renders from), never the stack's environment.
 *
 * Resource rules, because the engine hands resource rules a resource's inputs (a component's inputs are its args)
 * but stack rules its outputs (a component's outputs are what it registers, not its routes).
 *
 * The Caddyfile is hidden in two places: the offline plan masks it as a secret (it holds the basic-auth hashes and
 * API keys), and a first preview does not know it (the generated passwords do not exist yet). A Caddy container that a
 * stackport proxy component (`stackport:docker:Proxy`) owns is then covered by the same rule on that component's
 * inputs; one with no such owner, or a file this reader cannot follow, is a "cannot check" violation, never a pass.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- resource props are untyped JSON */
import type { ReportViolation, ResourceValidationArgs } from "@pulumi/policy";
import { CannotCheck, type Check, SECRET_MASK, asArray, isUnknownValueError, resourceRule } from "./common";
import { type CaddySite, caddySites } from "./caddyfile";
import { CONTAINER } from "./docker";

export const PROXY_COMPONENT = "stackport:docker:Proxy";
const CADDYFILE = /(^|\/)Caddyfile$/;

/** A value read through the policy proxy, or why it is hidden (masked secret, preview unknown). */
function read<T>(fn: () => T): { value?: T; hidden?: string } {
  try {
    const value = fn();
    if (value === SECRET_MASK) return { hidden: "a secret, masked in the offline plan" };
    return { value };
  } catch (e) {
    if (isUnknownValueError(e)) return { hidden: "unknown until the resources it depends on exist" };
    throw e;
  }
}

/**
 * The Caddyfile a container uploads: its text; or why it is hidden, with `known` set when the upload is known to be
 * a Caddyfile; or `undefined` for a container that uploads none.
 */
function caddyfileOf(props: any): { text?: string; hidden?: string; known: boolean } | undefined {
  const uploads = read(() => props.uploads);
  if (uploads.hidden) return { hidden: `its uploads are ${uploads.hidden}`, known: false };
  for (const u of asArray(uploads.value)) {
    const file = read(() => u?.file);
    if (file.hidden) return { hidden: `an upload's path is ${file.hidden}`, known: false };
    if (typeof file.value !== "string" || !CADDYFILE.test(file.value)) continue;
    const content = read(() => u.content);
    if (content.hidden) return { hidden: `its content is ${content.hidden}`, known: true };
    if (typeof content.value === "string") return { text: content.value, known: true };
    const base64 = read(() => u.contentBase64);
    if (base64.hidden) return { hidden: `its content is ${base64.hidden}`, known: true };
    if (typeof base64.value === "string")
      return { text: Buffer.from(base64.value, "base64").toString("utf8"), known: true };
    return { hidden: "it is uploaded from a file on the deploying machine (source)", known: true };
  }
  return undefined;
}

/** The type of a URN's resource (the last of `parent$child` types). */
const urnType = (urn: string | undefined) => urn?.split("::")[2]?.split("$").pop();

/** Whether the container is a stackport proxy component's (its parent, else its URN's type chain, says so). */
function ownedByProxyComponent(args: ResourceValidationArgs): boolean {
  if (args.opts.parent) return urnType(args.opts.parent) === PROXY_COMPONENT;
  const chain = args.urn.split("::")[2]?.split("$") ?? [];
  return chain[chain.length - 2] === PROXY_COMPONENT;
}

/** A route of a proxy component's inputs, as the renderer receives it. */
interface ArgsRoute {
  name: string;
  host?: string;
  path?: string;
  to: string;
  auth: string;
  allowFrom?: string[];
  public: boolean;
}

function argsRoutes(props: any): ArgsRoute[] {
  const routes = props.routes;
  if (!routes || typeof routes !== "object") return [];
  return Object.keys(routes)
    .sort()
    .map((name) => {
      const r = routes[name];
      return {
        name,
        host: r?.host,
        path: r?.path,
        to: String(r?.to),
        auth: r?.auth ?? "none",
        ...(r?.allowFrom !== undefined && { allowFrom: asArray<string>(r.allowFrom) }),
        public: r?.public === true,
      };
    });
}

/**
 * A proxy check: `onFile` on a Caddy container whose file is visible, `onArgs` on a proxy component's inputs. A
 * hidden file is left to the owning component's check, or is "cannot check" without one.
 */
function proxyCheck(
  onFile: (sites: CaddySite[], report: ReportViolation, config: any) => void,
  onArgs: (props: any, report: ReportViolation, config: any) => void,
): Check {
  return (props, args, report) => {
    const config = args.getConfig<Record<string, unknown>>();
    if (args.type === PROXY_COMPONENT) return onArgs(props, report, config);
    const file = caddyfileOf(props);
    if (file === undefined) return;
    if (file.text !== undefined) return onFile(caddySites(file.text), report, config);
    if (ownedByProxyComponent(args)) return; // this rule checks the owning component's inputs instead
    if (file.known) throw new CannotCheck(`the Caddyfile is not visible here: ${file.hidden}`);
    // Uploads hidden as a whole and no proxy component owns it: nothing says this container is a proxy.
  };
}

const where = (r: { host?: string; path?: string }, domain: unknown) =>
  `${r.host ?? domain ?? "(domain)"}${r.path ?? ""}`;
const AUTH = new Set(["basic", "apiKey"]);
/** The Docker storage console, by catalog name and address (components/storage/settings.ts `dockerStorageUpstreams`). */
export const DEFAULT_ADMIN_UPSTREAMS = ["storage-console", "storage:9001"];

export const proxyRouteExposure = resourceRule(
  {
    name: "proxy-route-exposure",
    description:
      "Every route the Docker proxy serves must be restricted to client networks, authenticated, or explicitly public.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Give the route `allowFrom: [<client CIDRs>]`, or `auth: basic` / `auth: apiKey`, or — if everyone may use it — `public: true`, which the plan and the sign-off report show. A throwaway stack (a laptop's) lowers this rule in its own `policies/config/<stack>.json`.",
    area: "proxy",
    appliesTo: [CONTAINER, PROXY_COMPONENT],
  },
  proxyCheck(
    (sites, report) => {
      for (const site of sites) {
        for (const route of site.routes.filter((x) => x.guards.size === 0)) {
          report(
            `the Caddyfile's route ${route.label} on ${route.site} proxies to ${route.upstreams.join(", ")} for anyone: no remote_ip allow-list, no authentication and no public marker; set the route's allowFrom, auth, or public: true`,
          );
        }
      }
    },
    (props, report) => {
      for (const route of argsRoutes(props)) {
        if (route.allowFrom !== undefined || AUTH.has(route.auth) || route.public) continue;
        report(
          `route ${route.name} (${where(route, props.domain)} → ${route.to}) is open to anyone who reaches the proxy: set its allowFrom, auth, or public: true`,
        );
      }
    },
  ),
);

export const proxyAdminAuth = resourceRule(
  {
    name: "proxy-admin-auth",
    description: "Routes to admin interfaces (by default the storage console) must require authentication.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Set `auth: basic` on the route (an IP allow-list alone is not enough: anyone on that network gets the admin UI), or remove the route and reach the console through an SSH tunnel.",
    area: "proxy",
    appliesTo: [CONTAINER, PROXY_COMPONENT],
    configSchema: {
      properties: {
        adminUpstreams: {
          type: "array",
          items: { type: "string" },
          default: DEFAULT_ADMIN_UPSTREAMS,
          description:
            "Admin interfaces: upstream names (what routes' `to` says) and `host:port` addresses (what the Caddyfile says).",
        },
      },
    },
  },
  proxyCheck(
    (sites, report, config: { adminUpstreams: string[] }) => {
      const admin = new Set(config.adminUpstreams);
      for (const site of sites) {
        for (const route of site.routes) {
          const hit = route.upstreams.find((u) => admin.has(u));
          if (!hit || route.guards.has("auth") || route.guards.has("closed")) continue;
          report(
            `the Caddyfile's route ${route.label} on ${route.site} proxies to the admin interface ${hit} without authentication: set auth: basic on the route`,
          );
        }
      }
    },
    (props, report, config: { adminUpstreams: string[] }) => {
      const admin = new Set(config.adminUpstreams);
      const catalog = props.upstreams && typeof props.upstreams === "object" ? props.upstreams : {};
      for (const route of argsRoutes(props)) {
        const u = catalog[route.to];
        const isAdmin = admin.has(route.to) || (u !== undefined && admin.has(`${u?.host}:${u?.port}`));
        if (!isAdmin || AUTH.has(route.auth) || route.allowFrom?.length === 0) continue;
        report(
          `route ${route.name} (${where(route, props.domain)}) serves the admin interface ${route.to} with auth ${route.auth}: set auth: basic on the route`,
        );
      }
    },
  ),
);

export const proxyTls = resourceRule(
  {
    name: "proxy-tls",
    description: "The Docker proxy must serve its routes over HTTPS, never plain HTTP.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Set the proxy's `tls.mode` to `internal` (a private CA the clients trust) or `acme` (a public certificate). Plain HTTP is for a laptop only: such a stack lowers this rule in its own `policies/config/<stack>.json`.",
    area: "proxy",
    appliesTo: [CONTAINER, PROXY_COMPONENT],
  },
  proxyCheck(
    (sites, report) => {
      for (const site of sites.filter((s) => s.plain && s.routes.length > 0)) {
        report(
          `the Caddyfile serves ${site.addresses.map((a) => a.raw).join(" ")} over plain HTTP (${site.routes.length} proxied route(s)): passwords and data cross the network in clear; set tls.mode to internal or acme`,
        );
      }
    },
    (props, report) => {
      if (props.tls?.mode === "http" && argsRoutes(props).length > 0) {
        report("tls.mode is http: every route is served over plain HTTP; set tls.mode to internal or acme");
      }
    },
  ),
);

export const exposureRules = [proxyRouteExposure, proxyAdminAuth, proxyTls];
