// x-cluster's options, in one table: each one's flag, config-file key, value parser, default as
// --help shows it, and help line. The command line (_args.ts), config files (_config.ts) and
// --help (_help.ts) all read this table, so an option cannot exist in one and not the others.
//
// The defaults shown for options the cluster takes are the core's (src/options.ts DEFAULTS);
// the CLI passes `undefined` for an unset option, so the core's own default applies, and
// tests/cli_args_test.ts fails when a default shown here drifts from the core's.

import type { Policy } from "../mod.ts";
import { DEFAULT_CONTROL_HELP } from "./_control_path.ts";
import {
  boolean,
  bytes,
  duration,
  env,
  integer,
  listenAddress,
  LOG_FORMATS,
  type LogFormat,
  oneOf,
  type Parse,
  paths,
  POLICY_NAMES,
  strings,
  text,
  workers,
} from "./_values.ts";

/** Everything a run is configured with; `undefined` means the cluster's default. */
export interface Settings {
  /** The script the workers run. */
  script: string | undefined;
  /** Its arguments. */
  args: string[];
  workers: number | undefined;
  policy: Policy | undefined;
  respawn: boolean | undefined;
  readyTimeout: number | undefined;
  shutdownTimeout: number | undefined;
  maxRequests: number | undefined;
  maxMemory: number | undefined;
  heartbeatTimeout: number | undefined;
  heartbeatInterval: number | undefined;
  reloadConcurrency: number | undefined;
  /** Extra environment of the workers. */
  env: Record<string, string>;
  /** Paths whose changes reload the workers. */
  watch: string[];
  logFormat: LogFormat;
  /** The control socket's path; `undefined`: the user's default one (_control_path.ts). */
  control: string | undefined;
  /** The live view; `undefined`: on when stdout is a terminal (and the log format text). */
  live: boolean | undefined;
  /** Where the primary serves /metrics, /livez and /readyz; `undefined`: nowhere. */
  metrics: { hostname?: string; port: number } | undefined;
  /** systemd notifications (`Type=notify`); `undefined`: the core's default (on). */
  systemd: boolean | undefined;
}

/** What a run uses when neither the command line nor a config file says. */
export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  script: undefined,
  args: [],
  workers: undefined,
  policy: undefined,
  respawn: undefined,
  readyTimeout: undefined,
  shutdownTimeout: undefined,
  maxRequests: undefined,
  maxMemory: undefined,
  heartbeatTimeout: undefined,
  heartbeatInterval: undefined,
  reloadConcurrency: undefined,
  env: {},
  watch: [],
  logFormat: "text",
  control: undefined,
  live: undefined,
  metrics: undefined,
  systemd: undefined,
});

/** One option: on the command line (`flag`) and in a config file (`key`). */
export interface OptionSpec {
  /** The config-file key, and the setting it fills. */
  key: keyof Settings;
  /** The long flag, without `--`. */
  flag: string;
  /** The one-letter flag, without `-`. */
  short?: string;
  /** The value's placeholder in --help; absent for a boolean flag. */
  value?: string;
  /** The flag may be given several times. */
  multiple?: boolean;
  /** Parses a raw value. */
  parse: Parse<unknown>;
  /** The default, as --help shows it. */
  default: string;
  /** One line of --help. */
  help: string;
}

/** Every option that configures a run, in --help order. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    key: "workers",
    flag: "workers",
    short: "w",
    value: "<n|auto>",
    parse: workers,
    default: "auto",
    help: "worker processes; auto: one per CPU available to the process",
  },
  {
    key: "policy",
    flag: "policy",
    value: "<name>",
    parse: oneOf(POLICY_NAMES),
    default: "round-robin",
    help: "how node:http/node:net servers share a port: round-robin, shared or reuse-port " +
      "(Deno.serve and Bun.serve always use reuse-port)",
  },
  {
    key: "respawn",
    flag: "respawn",
    parse: boolean,
    default: "on",
    help: "restart a worker that exits on its own (with backoff; a crash loop stops " +
      "x-cluster); --no-respawn leaves its slot empty",
  },
  {
    key: "readyTimeout",
    flag: "ready-timeout",
    value: "<ms>",
    parse: duration(1),
    default: "30000",
    help: "a worker that has not started its server this long after its start is killed",
  },
  {
    key: "shutdownTimeout",
    flag: "shutdown-timeout",
    value: "<ms>",
    parse: duration(0),
    default: "10000",
    help: "how long a stopping worker may finish its requests before it is killed",
  },
  {
    key: "maxRequests",
    flag: "max-requests",
    value: "<n>",
    parse: integer(0),
    default: "0 (never)",
    help: "replace a worker after about this many requests (node:http/node:net servers)",
  },
  {
    key: "maxMemory",
    flag: "max-memory",
    value: "<bytes>",
    parse: bytes,
    default: "0 (never)",
    help: "replace a worker whose resident memory exceeds this (512M, 1G: powers of 1024)",
  },
  {
    key: "heartbeatTimeout",
    flag: "heartbeat-timeout",
    value: "<ms>",
    parse: duration(0),
    default: "0 (off)",
    help: "kill and replace a worker whose event loop sent no heartbeat for this long",
  },
  {
    key: "heartbeatInterval",
    flag: "heartbeat-interval",
    value: "<ms>",
    parse: duration(1),
    default: "1000",
    help: "how often workers send heartbeats (less than --heartbeat-timeout)",
  },
  {
    key: "reloadConcurrency",
    flag: "reload-concurrency",
    value: "<n>",
    parse: integer(1),
    default: "1",
    help: "workers a reload (SIGHUP, --watch) replaces at once",
  },
  {
    key: "env",
    flag: "env",
    short: "e",
    value: "<KEY=VALUE>",
    multiple: true,
    parse: env,
    default: "none",
    help: "an environment variable for the workers (repeatable)",
  },
  {
    key: "watch",
    flag: "watch",
    value: "<paths>",
    multiple: true,
    parse: paths,
    default: "none",
    help: "reload the workers, one slot at a time, when a file under these paths changes " +
      "(comma-separated, repeatable)",
  },
  {
    key: "logFormat",
    flag: "log-format",
    value: "<text|json>",
    parse: oneOf(LOG_FORMATS),
    default: "text",
    help: "text: worker output lines prefixed with [w<id>]; json: one JSON object per line",
  },
  {
    key: "live",
    flag: "live",
    parse: boolean,
    default: "on when stdout is a terminal and --log-format is text",
    help: "keep the status table at the bottom of the terminal, redrawn every second, with " +
      "the log lines scrolling above it",
  },
  {
    key: "metrics",
    flag: "metrics",
    value: "<[host:]port>",
    parse: listenAddress,
    default: "off (host: 127.0.0.1)",
    help: "serve Prometheus metrics (/metrics) and health checks (/livez, /readyz) from the " +
      "primary on this address",
  },
  {
    key: "systemd",
    flag: "systemd",
    parse: boolean,
    default: "on",
    help: "tell systemd READY/RELOADING/STOPPING/WATCHDOG when $NOTIFY_SOCKET is set " +
      "(a Type=notify unit)",
  },
  {
    key: "control",
    flag: "control",
    value: "<path>",
    parse: text,
    default: DEFAULT_CONTROL_HELP,
    help: "the control socket (mode 0600) that x-cluster status, reload, scale and stop talk to",
  },
];

/** The config-file keys that are not options: what the workers run. */
export const SCRIPT_KEYS: readonly { key: "script" | "args"; parse: Parse<unknown> }[] = [
  { key: "script", parse: text },
  { key: "args", parse: strings },
];
