/**
 * Reads a Caddyfile the way the proxy rules need it: which sites serve which upstreams over which scheme, and what
 * stands in front of each `reverse_proxy` (an IP allow-list, authentication, a refusal, or a public marker).
 *
 * A small reader of Caddy's lexical rules (caddyserver/caddy v2.11 `caddyconfig/caddyfile/lexer.go`): tokens split
 * on whitespace, newlines end a directive, `#` at the start of a token opens a comment, `"…"` and `` `…` `` quote,
 * `{`/`}` are block braces only as whole tokens (`{$VAR}` and `{http.request.host}` are placeholders). Snippets
 * (`(name) { … }`) are expanded where a site imports them. Anything it cannot follow — unbalanced braces, an
 * unterminated quote, a heredoc, an import of another file — throws `CannotCheck`: a file the rules cannot read is
 * never a pass.
 */
import { CannotCheck } from "./common";

export interface CaddyNode {
  tokens: string[];
  block?: CaddyNode[];
  /** Comment lines directly above the directive, without the `#`. */
  comments: string[];
  line: number;
}

interface Token {
  text: string;
  line: number;
  /** A `#` comment: only kept to attach to the next directive. */
  comment?: boolean;
  quoted?: boolean;
}

function lex(src: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  let atTokenStart = true;
  const push = (t: Token) => out.push(t);
  let current = "";
  let quoted = false;
  const flush = () => {
    if (current !== "" || quoted) push({ text: current, line, quoted });
    current = "";
    quoted = false;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\n") {
      flush();
      push({ text: "\n", line });
      line++;
      i++;
      atTokenStart = true;
      continue;
    }
    if (c === "\\" && src[i + 1] === "\n") {
      // A line continuation.
      flush();
      line++;
      i += 2;
      atTokenStart = true;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      flush();
      i++;
      atTokenStart = true;
      continue;
    }
    if (c === "#" && atTokenStart && current === "") {
      const end = src.indexOf("\n", i);
      const text = src.slice(i + 1, end < 0 ? src.length : end).trim();
      push({ text, line, comment: true });
      i = end < 0 ? src.length : end;
      continue;
    }
    if ((c === '"' || c === "`") && current === "") {
      const start = line;
      let j = i + 1;
      let text = "";
      while (j < src.length && src[j] !== c) {
        if (c === '"' && src[j] === "\\" && (src[j + 1] === '"' || src[j + 1] === "\\")) j++;
        if (src[j] === "\n") line++;
        text += src[j];
        j++;
      }
      if (j >= src.length) throw new CannotCheck(`the Caddyfile has an unterminated quote (line ${start})`);
      current = text;
      quoted = true;
      i = j + 1;
      atTokenStart = false;
      continue;
    }
    if (c === "<" && src[i + 1] === "<" && current === "" && atTokenStart) {
      throw new CannotCheck(`the Caddyfile uses a heredoc (line ${line}), which this check does not read`);
    }
    current += c;
    atTokenStart = false;
    i++;
  }
  flush();
  return out;
}

/** Parses a Caddyfile into directives with their blocks. */
export function parseCaddyfile(src: string): CaddyNode[] {
  const tokens = lex(src);
  let pos = 0;
  const parseBlock = (depth: number, openedAt: number): CaddyNode[] => {
    const nodes: CaddyNode[] = [];
    let comments: string[] = [];
    let current: CaddyNode | undefined;
    const end = () => {
      if (current) nodes.push(current);
      current = undefined;
    };
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if (t.comment) {
        if (!current) comments.push(t.text);
        continue;
      }
      if (t.text === "\n" && !t.quoted) {
        end();
        continue;
      }
      if (!t.quoted && t.text === "}") {
        end();
        if (depth === 0)
          throw new CannotCheck(`the Caddyfile closes a block it never opened (line ${t.line})`);
        return nodes;
      }
      if (!t.quoted && t.text === "{") {
        const node: CaddyNode = current ?? { tokens: [], comments, line: t.line };
        comments = [];
        node.block = parseBlock(depth + 1, t.line);
        current = undefined;
        nodes.push(node);
        continue;
      }
      if (!current) {
        current = { tokens: [], comments, line: t.line };
        comments = [];
      }
      current.tokens.push(t.text);
    }
    end();
    if (depth > 0)
      throw new CannotCheck(`the Caddyfile leaves the block opened on line ${openedAt} unclosed`);
    return nodes;
  };
  return parseBlock(0, 0);
}

export interface SiteAddress {
  raw: string;
  /** Served without TLS: an `http://` address, port 80, or a bare `:port` (no host to get a certificate for). */
  plain: boolean;
}

/** Why a proxied route is not open to anyone. */
export type Guard = "allow-list" | "auth" | "closed" | "public";

export interface ProxiedRoute {
  site: string;
  /** The route's name from the renderer's `# route <name>` comment, else its matcher, else `(site)`. */
  label: string;
  /** `host:port` upstreams of the `reverse_proxy`. */
  upstreams: string[];
  guards: Set<Guard>;
}

export interface CaddySite {
  addresses: SiteAddress[];
  plain: boolean;
  routes: ProxiedRoute[];
}

const AUTH_DIRECTIVES = new Set(["basicauth", "basic_auth", "forward_auth"]);
const IP_MATCHERS = new Set(["remote_ip", "client_ip"]);
/**
 * The comment that marks a route as deliberately public: `# route <name> (public)`, which the renderer writes for
 * `public: true` (components/proxy/caddyfile.ts `renderRoute`), or a hand-written `# public`. Exact, so that a
 * comment that merely mentions the word ("# not public") marks nothing.
 */
const PUBLIC_MARKER = /^(route\s+\S+\s+\(public\)|public)$/i;
const ROUTE_COMMENT = /^route\s+(\S+)/;

function address(raw: string): SiteAddress {
  const a = raw.replace(/,$/, "");
  if (/^https:\/\//i.test(a)) return { raw: a, plain: false };
  if (/^http:\/\//i.test(a)) return { raw: a, plain: true };
  const port = /:(\d+)$/.exec(a)?.[1];
  return { raw: a, plain: port === "80" || (a.startsWith(":") && port !== "443") };
}

/** What a named matcher's definition makes a `respond @m 401|403` into. */
function guardOfMatcher(def: string[]): Guard | undefined {
  if (def[0] !== "not") return undefined;
  if (IP_MATCHERS.has(def[1] ?? "")) return "allow-list";
  if (def[1] === "header") return "auth";
  return undefined;
}

function matcherDefinitions(nodes: CaddyNode[], into: Map<string, string[]>): void {
  for (const n of nodes) {
    const name = n.tokens[0];
    if (!name?.startsWith("@")) continue;
    if (n.tokens.length > 1) into.set(name, n.tokens.slice(1));
    else if (n.block?.length === 1) into.set(name, n.block[0]!.tokens);
  }
}

const isPublic = (comments: string[]) => comments.some((c) => PUBLIC_MARKER.test(c));

/** The guards a block's own directives set, for everything it proxies. */
function blockGuards(nodes: CaddyNode[], matchers: Map<string, string[]>): Set<Guard> {
  const guards = new Set<Guard>();
  for (const n of nodes) {
    const [directive, ...rest] = n.tokens;
    if (directive === undefined) continue;
    if (AUTH_DIRECTIVES.has(directive)) guards.add("auth");
    if (directive === "respond") {
      const status = rest.find((t) => /^[45]\d\d$/.test(t));
      if (status !== "401" && status !== "403") continue;
      const matcher = rest.find((t) => t.startsWith("@"));
      if (!matcher) guards.add("closed");
      else {
        const g = guardOfMatcher(matchers.get(matcher) ?? []);
        if (g) guards.add(g);
      }
    }
  }
  return guards;
}

function expandImports(nodes: CaddyNode[], snippets: Map<string, CaddyNode[]>, depth = 0): CaddyNode[] {
  if (depth > 10) throw new CannotCheck("the Caddyfile's snippets import each other in a loop");
  return nodes.flatMap((n) => {
    if (n.tokens[0] === "import" && !n.block) {
      const snippet = snippets.get(n.tokens[1] ?? "");
      if (!snippet)
        throw new CannotCheck(`the Caddyfile imports ${n.tokens[1] ?? "nothing"}, which is not in the file`);
      return expandImports(snippet, snippets, depth + 1);
    }
    return [n.block ? { ...n, block: expandImports(n.block, snippets, depth) } : n];
  });
}

/** Every site of a Caddyfile with the routes it proxies and what guards each. */
export function caddySites(src: string): CaddySite[] {
  const top = parseCaddyfile(src);
  const snippets = new Map<string, CaddyNode[]>();
  for (const n of top) {
    const m = /^\((.+)\)$/.exec(n.tokens[0] ?? "");
    if (m && n.block) snippets.set(m[1]!, n.block);
  }
  const sites: CaddySite[] = [];
  for (const n of top) {
    if (!n.block) {
      // A top-level directive outside any block is only valid before a single site's directives; we never
      // render it, and cannot tell what it applies to.
      throw new CannotCheck(`the Caddyfile has a directive outside any site block (line ${n.line})`);
    }
    const first = n.tokens[0];
    if (first === undefined || /^\(.+\)$/.test(first) || first.startsWith("&(")) continue;
    const addresses = n.tokens.map(address);
    const siteName = addresses.map((a) => a.raw).join(" ");
    const routes: ProxiedRoute[] = [];
    const walk = (
      nodes: CaddyNode[],
      inherited: Set<Guard>,
      label: string,
      matchers: Map<string, string[]>,
    ) => {
      const scope = new Map(matchers);
      matcherDefinitions(nodes, scope);
      const guards = new Set([...inherited, ...blockGuards(nodes, scope)]);
      // Comments above a route (`# route <name>`, a public marker) cover the directives after them up to the
      // first block: the renderer writes comment → matcher line → `handle @name { … }`.
      let context: string[] = [];
      for (const child of nodes) {
        const [directive, ...rest] = child.tokens;
        if (child.comments.length > 0) context = child.comments;
        const routeName = context.map((c) => ROUTE_COMMENT.exec(c)?.[1]).find(Boolean);
        const childLabel =
          routeName ?? (directive === "handle" && rest[0]?.startsWith("@") ? rest[0] : label);
        const childGuards = isPublic(context) ? new Set([...guards, "public" as Guard]) : guards;
        if (child.block) context = [];
        if (directive === "reverse_proxy") {
          routes.push({
            site: siteName,
            label: childLabel,
            upstreams: rest.filter((t) => !t.startsWith("@") && t !== "*" && !t.startsWith("/")),
            guards: childGuards,
          });
        }
        if (
          child.block &&
          directive !== undefined &&
          !directive.startsWith("@") &&
          !AUTH_DIRECTIVES.has(directive)
        )
          walk(child.block, childGuards, childLabel, scope);
      }
    };
    walk(expandImports(n.block, snippets), new Set(), "(site)", new Map());
    // Only the address decides: `auto_https off` stops automatic certificates, not TLS on :443 (`caddy adapt` keeps
    // a TLS connection policy there).
    const plain = addresses.every((a) => a.plain);
    sites.push({ addresses, plain, routes });
  }
  return sites;
}
