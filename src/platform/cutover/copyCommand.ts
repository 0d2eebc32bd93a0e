/**
 * The command a cutover's copy step runs on the machine doing `pulumi up`: the rendered copy script, then — for the
 * final copy — the verification script, whose non-zero exit (a table that differs) fails the update.
 */
import { scriptHeader } from "../../../components/shared/shell";
import { renderDatabaseCopyScript, renderVerifyScript } from "./backfill";

export type CopyKind = "initial" | "final";

/**
 * A POSIX sh script that writes the two rendered scripts to a private temp dir and runs them. The scripts read
 * SOURCE_* / TARGET_* from the environment (passwords included), so nothing secret is in the text.
 */
export function renderCutoverCopyCommand(
  kind: CopyKind,
  copy: Parameters<typeof renderDatabaseCopyScript>[0] = {},
): string {
  const steps = [
    `cat > "$work/copy.sh" <<'STACKPORT_COPY'\n${renderDatabaseCopyScript(copy)}STACKPORT_COPY`,
    'sh "$work/copy.sh"',
    ...(kind === "final"
      ? [
          `cat > "$work/verify.sh" <<'STACKPORT_VERIFY'\n${renderVerifyScript()}STACKPORT_VERIFY`,
          'sh "$work/verify.sh"',
        ]
      : ['echo "stackport: initial copy done; the final copy in phase backfill is verified"']),
  ];
  return (
    scriptHeader(`cutover ${kind} database copy${kind === "final" ? " and verification" : ""}`) +
    ["work=$(mktemp -d)", "trap 'rm -rf \"$work\"' EXIT", ...steps, ""].join("\n")
  );
}
