/**
 * Stand-ins for the broker images' entrypoints, for running the broker's start script against a real
 * `redis-server` (Debian's Redis 7; no image can be pulled here). Each reproduces what the start script depends on
 * in its upstream entrypoint, read at the version named: what the entrypoint does to the argument list before it
 * execs the server. Privilege dropping (gosu/setpriv re-running the entrypoint as the image's user with the same
 * arguments) and permission fixing are left out: they change no argument, and the tests do not run as root.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireTool } from "./tools";

/**
 * redis/docker-library-redis `alpine/docker-entrypoint.sh`, branch release/8.0 at 3e867f9 (the 8.2 entrypoint
 * adds setpriv and permission fixes around the same lines): an option or a `.conf` first means `redis-server`;
 * for `redis-server`, every non-empty, readable, executable `*.so` in the modules directory is APPENDED as
 * `--loadmodule <file>`, after the caller's arguments. The modules directory is `/usr/local/lib/redis/modules/`
 * in the image; here it is the directory the test passes.
 */
export function redis8Entrypoint(modulesDir: string): string {
  return `#!/bin/sh
set -e
if [ "\${1#-}" != "$1" ] || [ "\${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi
um="$(umask)"
if [ "$um" = '0022' ]; then
	umask 0077
fi
if [ "$1" = 'redis-server' ]; then
	echo "Starting Redis Server"
	modules_dir="${modulesDir}/"
	if [ ! -d "$modules_dir" ]; then
		echo "Warning: Default Redis modules directory $modules_dir does not exist."
	elif [ -n "$(ls -A $modules_dir 2>/dev/null)" ]; then
		for module in "$modules_dir"/*.so;
		do
			if [ ! -s "$module" ]; then continue; fi
			if [ -d "$module" ]; then continue; fi
			if [ ! -r "$module" ]; then continue; fi
			if [ ! -x "$module" ]; then continue; fi
			set -- "$@" --loadmodule "$module"
		done
	fi
fi
exec "$@"
`;
}

/**
 * valkey-io/valkey-container `docker-entrypoint.sh` (the template of `<version>/alpine/docker-entrypoint.sh`, read at
 * ae6141e; 8.1 is rendered from it): an option or a `.conf` first means `valkey-server`; then
 * `exec "$@" $VALKEY_EXTRA_FLAGS`, which APPENDS the flags in that variable, unquoted, after the caller's arguments.
 */
export const VALKEY_ENTRYPOINT = `#!/bin/sh
set -e
if [ "\${1#-}" != "$1" ] || [ "\${1%.conf}" != "$1" ]; then
	set -- valkey-server "$@"
fi
um="$(umask)"
if [ "$um" = '0022' ]; then
	umask 0077
fi
# shellcheck disable=SC2086
exec "$@" $VALKEY_EXTRA_FLAGS
`;

/** Name the stub module registers, as `MODULE LIST` shows it. */
export const STUB_MODULE_NAME = "stackportstub";

/**
 * Compiles a Redis module that loads and does nothing, so that `--loadmodule` is real: the modules Redis 8 ships
 * (search, JSON, time series, bloom) are not in Debian. `RedisModule_OnLoad` does what redis `src/redismodule.h`'s
 * `RedisModule_Init` does at minimum: takes the API lookup from the context's first field and registers the
 * module's name with `RedisModule_SetModuleAttribs` (a module that never registers is refused by Redis).
 */
export function compileStubModule(dir: string): string {
  const cc = requireTool("cc", "gcc");
  mkdirSync(dir, { recursive: true });
  const source = join(dir, "stub.c");
  writeFileSync(
    source,
    `typedef int (*GetApi)(const char *name, void *out);
typedef void (*SetAttribs)(void *ctx, const char *name, int ver, int apiver);
int RedisModule_OnLoad(void *ctx, void **argv, int argc) {
  (void)argv; (void)argc;
  GetApi getapi = *(GetApi *)ctx;
  SetAttribs set;
  if (getapi("RedisModule_SetModuleAttribs", (void *)&set) != 0) return 1;
  set(ctx, "${STUB_MODULE_NAME}", 1, 1);
  return 0;
}
`,
  );
  const module = join(dir, `${STUB_MODULE_NAME}.so`);
  const r = spawnSync(cc, ["-shared", "-fPIC", "-o", module, source], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cc could not build the stub Redis module:\n${r.stderr}`);
  chmodSync(module, 0o755);
  return module;
}
