// `deskless daemon ...`: commander wiring for the daemon bridge. The work lives in src/daemon/
// (client, agent follower, tail, agent list); daemon-agents.ts and daemon-session.ts print it.
import { Command } from "commander";
import { listAgents, watchAgents } from "../daemon/agent-list.js";
import { tailAgent } from "../daemon/agent-tail.js";
import { parsePermissionMode, type PermissionMode } from "../daemon/permissions.js";
import type { AgentEntry, AgentSnapshot, AgentUpdatePayload, DaemonMessage } from "../daemon/protocol.js";
import { DaemonRpcError } from "../daemon/errors.js";
import { runAgent, sendToAgent, waitAgent } from "./daemon-agents.js";
import { runDaemonCommand, toCliError, untilClosedOrSignal, withCommonOptions, type CommonOptions, type DaemonRun } from "./daemon-context.js";
import { bridgeOutput, runSession } from "./daemon-session.js";
import { CliError, ExitCode } from "./exit-codes.js";

type Opts<T = object> = CommonOptions & T;

function permissionsOf(value: string): PermissionMode {
  try {
    return parsePermissionMode(value);
  } catch (error) {
    throw new CliError((error as Error).message, ExitCode.usage);
  }
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

function agentRow(agent: AgentSnapshot): string {
  return `${pad(agent.id, 36)}  ${pad(agent.status ?? "", 8)}  ${pad(agent.provider ?? "", 10)}  ${pad(agent.title ?? "-", 24)}  ${agent.cwd ?? ""}`;
}

async function printAgents({ client, out, json }: DaemonRun, watch: boolean): Promise<void> {
  const printList = (entries: AgentEntry[]) => {
    if (json) for (const entry of entries) out.ndjson(entry);
    else {
      out.line(`${pad("ID", 36)}  ${pad("STATUS", 8)}  ${pad("PROVIDER", 10)}  ${pad("TITLE", 24)}  CWD`);
      for (const entry of entries) out.line(agentRow(entry.agent));
    }
  };
  if (!watch) return printList(await listAgents(client));
  const printUpdate = (update: AgentUpdatePayload) => {
    if (json) out.ndjson(update);
    else if (update.kind === "remove") out.line(`remove  ${update.agentId}`);
    else if (update.agent) out.line(`${pad(update.kind ?? "upsert", 6)}  ${agentRow(update.agent)}`);
  };
  // Handle signals before the first line is out: a script may signal as soon as it reads one.
  const stopped = untilClosedOrSignal(client);
  stopped.catch(() => undefined);
  await watchAgents(client, { onList: printList, onUpdate: printUpdate });
  await stopped;
}

function printMessage({ out, json }: DaemonRun, message: DaemonMessage): void {
  if (json) out.ndjson(message);
  else out.line(JSON.stringify(message, null, 2));
}

/** Wraps a command action so every error it throws reaches main() as a CliError with its exit code. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  return async (...args: A): Promise<void> => {
    try {
      await fn(...args);
    } catch (error) {
      throw toCliError(error);
    }
  };
}

export function registerDaemonCommands(program: Command): void {
  const daemon = program
    .command("daemon")
    .description("Talk to the agent daemon over its WebSocket: status, agents, runs, terminals, a scriptable session")
    .addHelpText(
      "after",
      `
Examples:
  deskless daemon status
  deskless daemon run --provider claude --cwd . "Summarise README.md"
  deskless daemon run --provider codex --cwd . --permissions rules.json --json "Fix the tests" > events.ndjson
  deskless daemon call list_available_providers_request
  echo '{"type":"fetch_agents_request"}' | deskless daemon session

Exit codes: 0 ok, 1 request or agent failed, 2 usage, 5 cannot connect, 6 refused by the URL policy,
7 authentication failed, 8 protocol error, 124 timeout.`,
    );

  withCommonOptions(daemon.command("status").description("connect, print the server info and the round-trip time")).action(
    action(async (options: Opts) =>
      runDaemonCommand(options, { longLived: false }, async ({ client, out, json }) => {
        const { rttMs } = await client.ping();
        const info = client.serverInfo;
        if (json) out.ndjson({ url: options.url, clientId: client.clientId, serverInfo: info, rttMs });
        else {
          out.line(`url       ${options.url}`);
          out.line(`server    ${info?.serverId ?? "?"} (${info?.hostname ?? "?"}), version ${info?.version ?? "?"}`);
          out.line(`client    ${client.clientId}`);
          out.line(`rtt       ${rttMs.toFixed(2)} ms`);
        }
      }),
    ),
  );

  withCommonOptions(daemon.command("agents").description("list agents; --watch streams updates").option("--watch", "keep running and print agent_update pushes")).action(
    action(async (options: Opts<{ watch?: boolean }>) => runDaemonCommand(options, { longLived: options.watch === true }, (run) => printAgents(run, options.watch === true))),
  );

  const agent = daemon.command("agent").description("one agent");
  withCommonOptions(agent.command("show").argument("<id>", "agent id, unique prefix or title").description("print one agent")).action(
    action(async (id: string, options: Opts) =>
      runDaemonCommand(options, { longLived: false }, async ({ client, out, json }) => {
        const p = (await client.request({ type: "fetch_agent_request", agentId: id })).payload;
        if (!p.agent) throw new CliError(`no agent matches "${id}"${p.error ? `: ${p.error}` : ""}`, ExitCode.failed);
        if (json) out.ndjson({ agent: p.agent, project: p.project ?? null });
        else for (const [key, value] of Object.entries(p.agent)) out.line(`${pad(key, 18)} ${typeof value === "string" ? value : JSON.stringify(value)}`);
      }),
    ),
  );

  withCommonOptions(
    daemon
      .command("run")
      .description("create an agent, stream its timeline, wait for it to finish and exit by the outcome")
      .argument("<prompt>", "the initial prompt")
      .requiredOption("--provider <provider>", "agent provider (claude, codex, ...)")
      .option("--cwd <dir>", "working directory of the agent", process.cwd())
      .option("--title <title>", "agent title")
      .option("--mode <mode>", "provider mode id")
      .option("--model <model>", "model")
      .option("--permissions <mode>", "answer permission requests: ask, allow, deny, or a rules FILE", "ask"),
  ).action(
    action(async (prompt: string, options: Opts<{ provider: string; cwd: string; title?: string; mode?: string; model?: string; permissions: string }>) => {
      const permissions = permissionsOf(options.permissions);
      await runDaemonCommand(options, { longLived: true }, (run) => runAgent(run, prompt, { ...options, permissions }));
    }),
  );

  withCommonOptions(
    daemon
      .command("send")
      .description("send a prompt to an agent, then stream and wait for the turn (--no-wait returns at once)")
      .argument("<id>", "agent id, unique prefix or title")
      .argument("<text>", "the message")
      .option("--no-wait", "return once the agent accepted the message")
      .option("--permissions <mode>", "answer permission requests: ask, allow, deny, or a rules FILE", "ask"),
  ).action(
    action(async (id: string, text: string, options: Opts<{ wait: boolean; permissions: string }>) => {
      const permissions = permissionsOf(options.permissions);
      await runDaemonCommand(options, { longLived: options.wait }, (run) => sendToAgent(run, id, text, { wait: options.wait, permissions }));
    }),
  );

  withCommonOptions(daemon.command("wait").description("wait for an agent to finish; exit 0 idle, 1 error or permission, 124 timeout").argument("<id>", "agent id, unique prefix or title")).action(
    action(async (id: string, options: Opts) => runDaemonCommand(options, { longLived: true }, (run) => waitAgent(run, id))),
  );

  withCommonOptions(daemon.command("cancel").description("cancel an agent's running turn").argument("<id>", "agent id, unique prefix or title")).action(
    action(async (id: string, options: Opts) =>
      runDaemonCommand(options, { longLived: false }, async ({ client, out, json }) => {
        const reply = await client.request({ type: "cancel_agent_request", agentId: id });
        if (json) out.ndjson(reply);
        else out.line(`canceled ${String(reply.payload.agentId ?? id)}`);
      }),
    ),
  );

  withCommonOptions(
    daemon
      .command("tail")
      .description("stream an agent's agent_stream events as NDJSON (resumes and fills gaps after reconnects)")
      .argument("<id>", "agent id, unique prefix or title")
      .option("--exit-on-finish", "exit after the next turn_completed (0), turn_failed or turn_canceled (1)"),
  ).action(
    action(async (id: string, options: Opts<{ exitOnFinish?: boolean }>) =>
      runDaemonCommand(options, { longLived: true }, async ({ client, out }) => {
        const stopped = untilClosedOrSignal(client).then(() => ExitCode.ok);
        stopped.catch(() => undefined);
        const tail = await tailAgent(client, id, { onMessage: (message, frame) => out.ndjson(message, frame), untilTurnEnds: options.exitOnFinish });
        if (!options.exitOnFinish) return stopped;
        const finished = tail.turnEnded.then((end) => (end === "completed" ? ExitCode.ok : ExitCode.failed));
        return Promise.race([finished, stopped]);
      }),
    ),
  );

  withCommonOptions(
    daemon
      .command("permit")
      .description("answer an agent's permission request")
      .argument("<id>", "agent id")
      .argument("<request-id>", "the permission request id (request.id of agent_permission_request)")
      .option("--allow", "allow the request")
      .option("--deny", "deny the request")
      .option("--message <text>", "reason sent with --deny"),
    "--allow-url",
  ).action(
    action(async (id: string, requestId: string, raw: Omit<CommonOptions, "allow"> & { allow?: boolean; deny?: boolean; message?: string; allowUrl: string[] }) => {
      if (Boolean(raw.allow) === Boolean(raw.deny)) throw new CliError("permit needs exactly one of --allow or --deny", ExitCode.usage);
      const response = raw.allow ? { behavior: "allow" as const } : { behavior: "deny" as const, ...(raw.message ? { message: raw.message } : {}) };
      const options: CommonOptions = { ...raw, allow: raw.allowUrl };
      await runDaemonCommand(options, { longLived: false }, async ({ client, out, json }) => {
        const reply = await client.request({ type: "agent_permission_response", agentId: id, requestId, response });
        if (json) out.ndjson(reply);
        else out.line(`${response.behavior === "allow" ? "allowed" : "denied"} ${requestId}`);
      });
    }),
  );

  withCommonOptions(
    daemon
      .command("call")
      .description("send any request by type with a fresh requestId and print the correlated reply")
      .argument("<type>", "request type, e.g. list_available_providers_request")
      .argument("[json]", "request fields as a JSON object", "{}"),
  ).action(
    action(async (type: string, json: string, options: Opts) => {
      let fields: unknown;
      try {
        fields = JSON.parse(json);
      } catch (error) {
        throw new CliError(`the request fields are not valid JSON: ${(error as Error).message}`, ExitCode.usage);
      }
      if (!fields || typeof fields !== "object" || Array.isArray(fields)) throw new CliError("the request fields must be a JSON object", ExitCode.usage);
      await runDaemonCommand(options, { longLived: false }, async (run) => {
        try {
          printMessage(run, await run.client.request({ ...(fields as Record<string, unknown>), type, requestId: undefined }));
        } catch (error) {
          if (error instanceof DaemonRpcError && run.json) {
            run.out.ndjson({ type: "rpc_error", payload: { requestId: error.requestId, requestType: error.requestType, code: error.rpcCode ?? null, error: error.message } });
          }
          throw error;
        }
      });
    }),
  );

  withCommonOptions(
    daemon.command("session").description("long-lived bridge: JSON requests on stdin (one per line), every daemon message as NDJSON on stdout; reconnects and resumes"),
  ).action(action(async (options: Opts) => runDaemonCommand({ ...options, json: true }, { longLived: true, beforeConnect: bridgeOutput }, (run) => runSession(run))));

  registerTerminalCommands(daemon);
}

function registerTerminalCommands(daemon: Command): void {
  const terminal = daemon.command("terminal").description("daemon terminals: create, send, capture, kill");
  withCommonOptions(
    terminal
      .command("create")
      .description("create a terminal and print its id")
      .option("--cwd <dir>", "working directory", process.cwd())
      .option("--name <name>", "terminal name")
      .option("--command <command>", "command to run instead of the shell")
      .argument("[args...]", "arguments of --command"),
  ).action(
    action(async (args: string[], options: Opts<{ cwd: string; name?: string; command?: string }>) =>
      runDaemonCommand(options, { longLived: false }, async ({ client, out, json }) => {
        const reply = await client.request({
          type: "create_terminal_request",
          cwd: options.cwd,
          ...(options.name ? { name: options.name } : {}),
          ...(options.command ? { command: options.command, args } : {}),
        });
        const p = reply.payload;
        if (!p.terminal) throw new CliError(`terminal create failed: ${p.error ?? "no terminal in the reply"}`, ExitCode.failed);
        if (json) out.ndjson(reply.payload);
        else out.line(p.terminal.id);
      }),
    ),
  );

  withCommonOptions(
    terminal
      .command("send")
      .description("type TEXT into a terminal (a newline is added unless --raw)")
      .argument("<id>", "terminal id")
      .argument("<text>", "text to type")
      .option("--raw", "send TEXT exactly, without a trailing newline"),
  ).action(
    action(async (id: string, text: string, options: Opts<{ raw?: boolean }>) =>
      runDaemonCommand(options, { longLived: false }, async ({ client, out, json }) => {
        const data = options.raw ? text : `${text}\n`;
        client.notify({ type: "terminal_input", terminalId: id, message: { type: "input", data } });
        // The daemon handles a session's messages in order: a ping answered means the input arrived.
        await client.ping();
        if (json) out.ndjson({ terminalId: id, sent: Buffer.byteLength(data) });
      }),
    ),
  );

  withCommonOptions(terminal.command("capture").description("print a terminal's lines").argument("<id>", "terminal id").option("--start <n>", "first line").option("--end <n>", "last line")).action(
    action(async (id: string, options: Opts<{ start?: string; end?: string }>) =>
      runDaemonCommand(options, { longLived: false }, async ({ client, out, json }) => {
        const reply = await client.request({
          type: "capture_terminal_request",
          terminalId: id,
          stripAnsi: true,
          ...(options.start !== undefined ? { start: Number(options.start) } : {}),
          ...(options.end !== undefined ? { end: Number(options.end) } : {}),
        });
        if (json) out.ndjson(reply.payload);
        else for (const line of reply.payload.lines ?? []) out.line(line);
      }),
    ),
  );

  withCommonOptions(terminal.command("kill").description("kill a terminal").argument("<id>", "terminal id")).action(
    action(async (id: string, options: Opts) =>
      runDaemonCommand(options, { longLived: false }, async ({ client, out, json }) => {
        const reply = await client.request({ type: "kill_terminal_request", terminalId: id });
        if (json) out.ndjson(reply.payload);
        if (!reply.payload.success) throw new CliError(`terminal ${id} could not be killed (unknown terminal?)`, ExitCode.failed);
        if (!json) out.line(`killed ${id}`);
      }),
    ),
  );
}
