/**
 * `StackOps`: the three Pulumi operations the `stackport` command needs, behind a small port so every decision
 * above it is tested against an in-memory fake. `automationStackOps` is the thin adapter over the Automation API
 * (`LocalWorkspace` on a project directory); its own test drives it with a fake `pulumiCommand` that replays the
 * CLI's recorded JSON shapes (the Automation API's `events.d.ts` and `stack.d.ts` in @pulumi/pulumi). The SDK takes
 * engine events from a CLI newer than 3.205.0 over a gRPC stream and from older ones through a file; the fake
 * plays both.
 */
import {
  LocalWorkspace,
  Stack,
  StackNotFoundError,
  type PulumiCommand,
  type UpdateSummary,
} from "@pulumi/pulumi/automation";
import type { EngineEvent } from "./review";

export type { UpdateSummary };

export interface PreviewRequest {
  /** Policy pack directories (`--policy-pack`). */
  policyPacks?: string[];
  /** Policy pack config files, one per pack (`--policy-pack-config`). */
  policyPackConfigs?: string[];
  /** Called with every engine event as the preview streams it. */
  onEvent?: (event: EngineEvent) => void;
  /**
   * Save the engine's update plan here (`--save-plan`): an `up` given it (`UpRequest.plan`) does only what this
   * preview showed. The file holds the stack's config (secrets encrypted): keep it in a private directory.
   */
  plan?: string;
}

/** The policy packs an operation runs under, and their configs. */
export type PolicyRequest = Pick<PreviewRequest, "policyPacks" | "policyPackConfigs">;

export interface UpRequest {
  /** The update's message in the stack history. */
  message: string;
  /** The policy packs and their configs the update runs under (a mandatory violation stops it). */
  policyPacks?: string[];
  policyPackConfigs?: string[];
  onEvent?: (event: EngineEvent) => void;
  /**
   * A plan a preview saved (`--plan`): the engine fails the update at the first step the plan does not allow
   * ("… is not allowed by the plan", pulumi/pulumi `pkg/resource/deploy/step_generator.go`). The CLI takes it
   * without PULUMI_EXPERIMENTAL (the flag is only hidden from --help; `pkg/cmd/pulumi/operations/up.go`).
   */
  plan?: string;
}

export interface StackOps {
  /** Newest first. Config secrets are never decrypted (`showSecrets=false`). */
  history(stack: string, opts?: { pageSize?: number; page?: number }): Promise<UpdateSummary[]>;
  preview(stack: string, req?: PreviewRequest): Promise<{ changeSummary: Record<string, number> }>;
  up(stack: string, req: UpRequest): Promise<{ summary: UpdateSummary }>;
}

export interface StackOpsOptions {
  /** The project directory (holds `Pulumi.yaml` and `Pulumi.<stack>.yaml`). */
  workDir: string;
  /** The CLI to run; default: `pulumi` on PATH. Tests pass a fake. */
  pulumiCommand?: PulumiCommand;
  /** Added to every CLI invocation (e.g. `PULUMI_BACKEND_URL`, `PULUMI_CONFIG_PASSPHRASE_FILE`). */
  envVars?: Record<string, string>;
}

/** A failure the user can act on; the CLI prints its message without a stack trace. */
export class StackOpsError extends Error {
  constructor(
    message: string,
    /** The Pulumi CLI is missing: the caller may say what works without it. */
    readonly noCli = false,
  ) {
    super(message);
    this.name = "StackOpsError";
  }
}

/**
 * The CLI's default page size is 10 (pulumi/pulumi `pkg/cmd/pulumi/stack/stack_history.go`, `--page-size`): without an explicit size, history silently stops at the 10
 * newest updates.
 */
export const DEFAULT_HISTORY_PAGE_SIZE = 100;

export function automationStackOps(opts: StackOpsOptions): StackOps {
  // An existing stack, never created: a report, a history listing or a rollback must not create a stack as a side
  // effect of a typo in its name. Nor select it: `pulumi stack select` would change the stack the user's own
  // `pulumi` commands act on afterwards. `pulumi stack --stack <name>` only checks that it exists (what
  // @pulumi/pulumi's LocalWorkspace.selectStack itself runs for remote workspaces); every later command names the
  // stack with `--stack`.
  const select = async (stackName: string): Promise<Stack> => {
    try {
      const workspace = await LocalWorkspace.create({
        workDir: opts.workDir,
        ...(opts.pulumiCommand && { pulumiCommand: opts.pulumiCommand }),
        ...(opts.envVars && { envVars: opts.envVars }),
      });
      // runPulumiCmd is LocalWorkspace's own runner (PULUMI_HOME, envVars); private in its types only.
      const runner = workspace as unknown as { runPulumiCmd(args: string[]): Promise<unknown> };
      workspace.selectStack = async (name: string) => {
        await runner.runPulumiCmd(["stack", "--stack", name]);
      };
      return await Stack.select(stackName, workspace);
    } catch (e) {
      throw readable(e, stackName);
    }
  };
  const attempt = async <T>(stackName: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (e) {
      throw readable(e, stackName);
    }
  };

  return {
    async history(stackName, page = {}) {
      const stack = await select(stackName);
      return attempt(stackName, () =>
        stack.history(page.pageSize ?? DEFAULT_HISTORY_PAGE_SIZE, page.page ?? 1, false),
      );
    },
    async preview(stackName, req = {}) {
      const stack = await select(stackName);
      const result = await attempt(stackName, () =>
        stack.preview({
          diff: true,
          policyPacks: req.policyPacks,
          policyPackConfigs: req.policyPackConfigs,
          onEvent: req.onEvent as ((e: unknown) => void) | undefined,
          plan: req.plan,
        }),
      );
      return { changeSummary: result.changeSummary as Record<string, number> };
    },
    async up(stackName, req) {
      const stack = await select(stackName);
      const result = await attempt(stackName, () =>
        stack.up({
          message: req.message,
          policyPacks: req.policyPacks,
          policyPackConfigs: req.policyPackConfigs,
          onEvent: req.onEvent as ((e: unknown) => void) | undefined,
          plan: req.plan,
          // `up` reads back the newest history entry; without this it decrypts the config secrets into it.
          showSecrets: false,
        }),
      );
      return { summary: result.summary };
    },
  };
}

/** Turns Automation API errors into one readable line; the CLI's own stderr is kept as the detail. */
function readable(e: unknown, stackName: string): Error {
  if (e instanceof StackNotFoundError) {
    return new StackOpsError(
      `no stack named '${stackName}' in this project's backend (pulumi stack ls lists them; pulumi stack init ${stackName} creates it)`,
    );
  }
  const err = e as {
    code?: string;
    message?: string;
    commandResult?: { stderr?: string; err?: { code?: string } };
  };
  if (err.code === "ENOENT" || err.commandResult?.err?.code === "ENOENT") {
    return new StackOpsError(
      "the Pulumi CLI is not installed or not on PATH (https://www.pulumi.com/docs/install/)",
      true,
    );
  }
  const stderr = err.commandResult?.stderr?.trim();
  return new StackOpsError(
    stderr ? `pulumi failed for stack '${stackName}':\n${stderr}` : String(err.message ?? e),
  );
}
