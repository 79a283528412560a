/**
 * The adapter contract: everything the runtime-agnostic core asks of a runtime. One object
 * implements it per runtime (`adapters/node.ts`, `adapters/deno.ts`, `adapters/bun.ts`); the
 * core never touches a runtime API except through it.
 *
 * Handles (sockets, listen sockets, servers) are opaque to the core: it receives them from
 * the adapter and gives them back to the adapter; it never looks inside.
 *
 * @module
 */

/** How connections to a shared address reach the workers. */
export type Policy = "round-robin" | "shared" | "reuse-port";

/** The policies, in order of preference of the default. */
export const POLICIES: readonly Policy[] = ["round-robin", "shared", "reuse-port"];

/** A bound address. */
export interface Address {
  /** The IP address the socket is bound to, e.g. `127.0.0.1` or `::`; a Unix socket's path. */
  hostname: string;
  /** The real port (never 0 once bound); -1 for a Unix socket, as Node reports a pipe's. */
  port: number;
  /** Address family; `"unix"` for a Unix domain socket. */
  family: "IPv4" | "IPv6" | "unix";
}

/** How messages are encoded on the IPC channel. */
export type Serialization = "json" | "advanced";

/** What a runtime can and cannot do. A missing capability is an error, never a fallback. */
export interface Capabilities {
  /** Sockets and listen handles can travel over IPC (needed by "round-robin" and "shared"). */
  readonly handlePassing: boolean;
  /**
   * A listen socket sent to several processes keeps working in each (needed by "shared");
   * why not, if not.
   */
  readonly sharedListenHandle: true | { readonly reason: string };
  /** Sockets can be bound with SO_REUSEPORT (needed by "reuse-port"); why not, if not. */
  readonly reusePort: true | { readonly reason: string };
  /** Serializations the IPC channel supports. */
  readonly serialization: readonly Serialization[];
  /**
   * A bound UDP socket sent to several processes receives in each (workers' `udp4`/`udp6`
   * sockets share it, as Node's SharedHandle); absent or a reason: not available.
   */
  readonly sharedUdp?: true | { readonly reason: string };
  /**
   * A primary's round-robin listener can read a connection's request head and still hand the
   * connection over with those bytes (`Listener` + `HeadReader`, src/scheduler_types.ts): needed
   * by `sticky` and by ip-hash with `trustProxy`. Absent or a reason: such addresses are
   * refused with `UNSUPPORTED`.
   */
  readonly readHead?: true | { readonly reason: string };
  /**
   * A primary's round-robin listener can tell a connection's peer address (`PeerReader`):
   * needed by ip-hash. Absent or a reason: such addresses are refused with `UNSUPPORTED`.
   */
  readonly peerAddress?: true | { readonly reason: string };
  /**
   * The runtime acknowledges every handle its peer received (Node's `NODE_HANDLE_ACK`) and
   * `ProcessHandle.send()` reports it through a {@linkcode HandleReceipt}: a round-robin
   * handoff then needs no answer of ours, and a worker writes only for a refusal (it hands the
   * connection back). Absent or false: every handoff is answered.
   */
  readonly handoffReceipts?: boolean;
}

/** What `ProcessHandle.send()` reports of a handle once the peer's runtime answered for it. */
export interface HandleReceipt {
  /** The peer's runtime received the handle (its descriptor is in the peer process). */
  delivered(): void;
  /** The peer's runtime could not receive it (no descriptor arrived), or the write failed. */
  lost(error: Error): void;
}

/** A UDP socket the primary binds for workers (Node's `dgram` SharedHandle). */
export interface UdpBindOptions {
  /** The socket type. */
  type: "udp4" | "udp6";
  /** The address; `undefined` binds every address of the type. */
  hostname: string | undefined;
  /** The port; 0 picks one. */
  port: number;
  /** Bind IPv6 only (`udp6`). */
  ipv6Only?: boolean;
  /** Bind with SO_REUSEADDR. */
  reuseAddr?: boolean;
  /** Wrap this descriptor of the primary (already bound) instead of binding an address. */
  fd?: number;
}

/** What the core passes to {@linkcode Adapter.spawn}. */
export interface SpawnOptions {
  /** Module the worker runs (path or file URL). */
  exec: string;
  /** Arguments for the worker's script. */
  args: readonly string[];
  /** Runtime flags for the worker (`deno run` flags, node/bun flags). */
  execArgv: readonly string[];
  /** The complete environment of the worker (the adapter adds nothing but its channel's). */
  env: Record<string, string>;
  /** Working directory; `undefined` means the primary's. */
  cwd: string | undefined;
  /** Pipe the worker's stdout/stderr instead of inheriting them. */
  silent: boolean;
  /** IPC serialization. */
  serialization: Serialization;
  /** Explicit stdio of the worker (overrides `silent`); contains `"ipc"` once. */
  stdio: StdioOption | undefined;
  /** User id the worker runs as (POSIX). */
  uid: number | undefined;
  /** Group id the worker runs as (POSIX). */
  gid: number | undefined;
}

/** One stdio slot of a worker: a mode, `"ipc"`, or a file descriptor of the primary. */
export type StdioValue = "pipe" | "inherit" | "ignore" | "ipc" | number | null | undefined;

/** A worker's stdio: one mode for stdin/stdout/stderr, or one value per descriptor. */
export type StdioOption = "pipe" | "inherit" | "ignore" | readonly StdioValue[];

/** Callbacks the core registers for one worker process. */
export interface ProcessEvents {
  /** A message (and possibly a handle) arrived, in the order it was sent. */
  message(message: unknown, handle: unknown): void;
  /** The IPC channel closed (by either side, or the process died). Called at most once. */
  disconnect(): void;
  /** The process exited. Called exactly once, after `disconnect`. */
  exit(code: number | null, signal: string | null): void;
  /** Spawning or the channel failed; `exit` still follows when the process is gone. */
  error(error: Error): void;
  /** A chunk of the worker's stderr, when `silent` is set (the core keeps a tail of it). */
  stderr?(chunk: string): void;
}

/**
 * One worker process as the primary sees it.
 *
 * Every implementation MUST:
 * - deliver messages to `ProcessEvents.message` in the order the worker sent them;
 * - report `disconnect` exactly once and then `exit` exactly once, also when spawning failed
 *   (`exit(code ?? 1, null)` after `error`) — the core relies on it to never hang;
 * - keep the primary's copy of a handle it sent open (the core closes it through the
 *   {@linkcode Listener} that produced it, once the worker confirmed it).
 *
 * It MUST NOT throw from `send` synchronously; a closed channel rejects the promise.
 */
export interface ProcessHandle {
  /** OS process id, once spawned. */
  readonly pid: number | undefined;
  /**
   * The runtime's own child process object (a `node:child_process` `ChildProcess` on all three
   * runtimes), for what the core does not wrap: `stdout`, `stderr`, `stdio`, `spawnargs` …
   * Callers MUST NOT send or listen for messages on it (the core owns the channel).
   */
  readonly process?: unknown;
  /** Whether the IPC channel is open. */
  readonly connected: boolean;
  /**
   * Sends a message (and optionally a handle); resolves once it was written to the channel.
   * With `keepOpen` false the sender's copy of a socket handle is closed after sending. With
   * `receipt` (only where `capabilities.handoffReceipts`, and only with a handle) the peer's
   * acknowledgement of the handle is reported there.
   */
  send(
    message: unknown,
    handle: unknown,
    keepOpen: boolean,
    receipt?: HandleReceipt,
  ): Promise<void>;
  /** Closes the IPC channel. Idempotent. */
  disconnect(): void;
  /** Sends a signal (default `SIGTERM`). Returns false if the process is already gone. */
  kill(signal?: string): boolean;
}

/** Callbacks the core registers on the worker side for its channel to the primary. */
export interface ParentEvents {
  /** A message (and possibly a handle) from the primary, in order. */
  message(message: unknown, handle: unknown): void;
  /** The channel closed: the primary disconnected us or died. Called at most once. */
  disconnect(): void;
}

/** The worker's channel to its primary. Same ordering rules as {@linkcode ProcessHandle}. */
export interface ParentChannel {
  /** Whether the channel is open. */
  readonly connected: boolean;
  /** Sends a message (and optionally a handle); resolves once written. See ProcessHandle. */
  send(message: unknown, handle: unknown, keepOpen: boolean): Promise<void>;
  /** Closes the channel. Idempotent. */
  disconnect(): void;
}

/** Where and how the primary (or a worker, for "reuse-port") binds. */
export interface ListenOptions {
  /** Host to bind; `undefined` means all interfaces. */
  hostname: string | undefined;
  /** Port; 0 picks a free one. */
  port: number;
  /** Listen backlog. */
  backlog: number | undefined;
  /** Bind IPv6 only: a `::` host then leaves IPv4 to others (Node's `ipv6Only`). */
  ipv6Only?: boolean;
  /** A Unix domain socket to listen on, instead of `hostname` and `port`. */
  path?: string;
}

/**
 * A listen socket owned by the primary.
 *
 * The adapter accepts connections and reports each, paused (no byte read), through
 * `onConnection` ("round-robin"); for "shared", `handle` is what the core sends to workers.
 */
export interface Listener {
  /** The bound address. */
  readonly address: Address;
  /** The handle to send to workers ("shared"). */
  readonly handle: unknown;
  /** Closes the listen socket; open connections are not touched. */
  close(): Promise<void>;
  /** Closes the primary's copy of a connection it reported (after a worker took it). */
  release(connection: unknown): void;
  /**
   * Connections the primary may hold accepted while they wait for a worker: its descriptor
   * budget (the soft descriptor limit minus those open and a reserve), `undefined` where the
   * adapter cannot tell. No runtime lets the primary stop accepting on a listen socket
   * (`readStop()` is a no-op on one on Node, Deno and Bun), so waiting connections are bounded
   * by descriptors, not by the listen backlog: one the kernel would have kept waiting is never
   * accepted and then closed for lack of patience.
   */
  readonly capacity?: number;
}

/** A fetch-style request handler (Request in, Response out), as Deno's and Bun's servers take it. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** Where a worker-side server gets its connections from. */
export type ServeSource =
  /** Connections are handed over one by one through {@linkcode WorkerServer.accept}. */
  | { kind: "connections" }
  /** A listen handle received from the primary: the worker accepts on it. */
  | { kind: "handle"; handle: unknown }
  /**
   * The worker binds its own SO_REUSEPORT socket. With `lendable` (the cluster's
   * `strictReloads`) the adapter MUST bind one it can lend to a reload's replacement, so that
   * no listener closes with connections queued on it; otherwise it MAY serve with the
   * runtime's own server.
   */
  | {
    kind: "reuse-port";
    hostname: string | undefined;
    port: number;
    backlog: number | undefined;
    lendable: boolean;
  };

/** How an adapter runs a fetch handler (from `ServeOptions`, defaults applied). */
export interface ServeEngineOptions {
  /** Whether the handler's `Response` may be the recording class (`ServeOptions.fastResponse`). */
  fastResponse: boolean;
}

/** The HTTP (or TCP) server implementation that runs a worker's handler. */
export type ServerEngine = "Deno.serve" | "Bun.serve" | "node:http" | "node:net";

/** A server running in a worker. */
export interface WorkerServer {
  /** The address the server bound itself ("reuse-port", "handle"); `undefined` otherwise. */
  readonly address: Address | undefined;
  /** The listen socket the worker holds ("handle" source), which it can lend. */
  readonly listenHandle: unknown;
  /** Which server runs the handler. */
  readonly engine: ServerEngine;
  /**
   * Why a `serve()` does not run on the runtime's own server (Deno.serve, Bun.serve), on a
   * runtime that has one; `undefined` when it does, and for `listen()`.
   */
  readonly engineReason: string | undefined;
  /**
   * What closing this server may lose, why, and what avoids it, as the clause after "…, and " of
   * the warning the primary prints once, at the first reload, recycle or scale-down that stops
   * such a worker ("it serves with …"); `undefined` when it loses nothing. Sent as one line of
   * at most 1,000 characters: control characters become spaces, the rest is cut. Native
   * servers cannot lend their listener, so their queued connections are reset where the kernel
   * does not migrate them (`net.ipv4.tcp_migrate_req=0`).
   */
  readonly lossOnClose: string | undefined;
  /** Requests (HTTP) or connections (plain TCP) served so far. */
  readonly requests: number;
  /**
   * Connections open now ("connections" source: the primary's least-connections scheduler
   * reads it); `undefined` where the server cannot tell.
   */
  readonly connections?: number;
  /**
   * Feeds one handed-over connection ("connections" source), with the bytes the primary read
   * of it already (L7 sticky routing), which the server MUST read before the connection's own.
   * Returns false if closed.
   */
  accept(connection: unknown, head?: Uint8Array): boolean;
  /** Stops accepting, lets in-flight requests finish, closes idle keep-alive connections. */
  close(): Promise<void>;
}

/** What the adapter measures of its own process, for `Cluster.stats()`. */
export interface ProcessFigures {
  /** Resident set size, in bytes. */
  readonly rss: number;
  /** CPU time used by the process so far (user + system), in seconds. */
  readonly cpuSeconds: number;
  /**
   * The longest event-loop delay (how late a timer or callback ran) since the previous
   * `read()`, or since the monitor started, in seconds.
   */
  readonly eventLoopLag: number;
}

/** Measures this process while it runs (see {@linkcode Adapter.monitor}). */
export interface ProcessMonitor {
  /** The figures now; resets the event-loop lag window. */
  read(): ProcessFigures;
  /** Stops measuring (timers, histograms). Idempotent. */
  stop(): void;
}

/**
 * systemd's notification socket ($NOTIFY_SOCKET), as this runtime can reach it
 * (`adapters/_sd_notify.ts`).
 */
export interface SystemdChannel {
  /** How datagrams are sent, e.g. `"the systemd-notify binary"` (for messages and docs). */
  readonly transport: string;
  /** Half of `$WATCHDOG_USEC` in ms when systemd's watchdog watches this process; else undefined. */
  readonly watchdogInterval: number | undefined;
  /**
   * Sends newline-separated assignments (`READY=1`, `STATUS=…`) in one datagram; rejects with
   * what failed and what to install or enable.
   */
  notify(state: string): Promise<void>;
}

/** A small HTTP server of the primary (the metrics and health listener). */
export interface HttpEndpoint {
  /** The bound address. */
  readonly address: Address;
  /** Stops accepting and closes every connection. */
  close(): Promise<void>;
}

/**
 * The runtime adapter.
 *
 * Every implementation MUST declare in `capabilities` what it cannot do, and MUST reject
 * (never silently degrade) a request that needs a missing capability. It MUST NOT keep the
 * process alive on its own once the core closed every channel, listener and server.
 */
export interface Adapter {
  /** Runtime name, e.g. `"node"`. */
  readonly runtime: string;
  /** Runtime version, e.g. `"24.11.0"`. */
  readonly version: string;
  /** What this runtime can do. */
  readonly capabilities: Capabilities;

  /** Reads an environment variable. */
  getEnv(name: string): string | undefined;
  /** A copy of the whole environment (for the worker's env). */
  envObject(): Record<string, string>;
  /** The main module of this process: the default `exec` of workers. */
  mainModule(): string | undefined;
  /** Runtime flags a worker inherits by default (Deno: the granted permissions; never more). */
  inheritedExecArgv(): string[];
  /** Arguments a worker's script gets by default: the primary's own (`process.argv.slice(2)`). */
  inheritedArgs(): string[];
  /** Number of CPUs the process may use. */
  availableParallelism(): number;
  /** Exits the process. */
  exit(code: number): void;
  /** Calls `handler` on `signal` (e.g. `SIGTERM`) instead of the default; returns the remover. */
  onSignal(signal: string, handler: () => void): () => void;
  /** Resident set size of this process, in bytes. */
  rss(): number;
  /** Lets the process exit even while `timer` is pending. */
  unrefTimer(timer: ReturnType<typeof setTimeout>): void;
  /**
   * Starts measuring this process: rss, CPU time and event-loop lag. It MUST NOT keep the
   * process alive (unref its timers).
   */
  monitor(): ProcessMonitor;
  /**
   * Serves HTTP on an address of the primary with a fetch handler (the metrics listener);
   * rejects with an error carrying the system `code`. It MUST NOT keep the process alive
   * once closed.
   */
  serveHttp(options: ListenOptions, handler: FetchHandler): Promise<HttpEndpoint>;
  /** systemd's notification socket, when `$NOTIFY_SOCKET` is set; else `undefined`. */
  systemd(): Promise<SystemdChannel | undefined>;

  /** Starts a worker process with an IPC channel. Errors go to `events.error`, never thrown. */
  spawn(options: SpawnOptions, events: ProcessEvents): ProcessHandle;
  /**
   * Binds a listen socket in the primary; rejects with an error carrying the system `code`.
   * Every accepted connection goes to `onConnection` paused (no byte read yet).
   */
  listen(options: ListenOptions, onConnection: (connection: unknown) => void): Promise<Listener>;
  /**
   * Wraps a listen socket received over IPC (lent by a worker) to pass it on. Connections the
   * runtime accepts on it meanwhile MUST NOT be lost: once closed, the adapter relays them to
   * the same address (where a worker accepts them).
   */
  adopt(handle: unknown): Listener;

  /** The channel to the primary, when this process is a worker; connects it. */
  connectParent(events: ParentEvents): ParentChannel | undefined;
  /** Starts a fetch-handler server on a source. */
  serve(
    source: ServeSource,
    handler: FetchHandler,
    options: ServeEngineOptions,
  ): Promise<WorkerServer>;
  /** Makes a user's `node:net`/`node:http` server take its connections from a source. */
  attach(server: unknown, source: ServeSource): Promise<WorkerServer>;
  /** Closes a handle received over IPC that nobody will use. */
  discard(handle: unknown): void;
  /** Binds a UDP socket in the primary to share (`capabilities.sharedUdp`). */
  bindUdp?(options: UdpBindOptions): Promise<Listener>;
  /** Wraps a bound UDP socket a worker lent, to pass it on. */
  adoptUdp?(handle: unknown): Listener;
  /** A worker's server over a UDP socket received from the primary (`socket` is the handle). */
  openUdp?(handle: unknown): WorkerServer;
}
