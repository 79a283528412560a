// systemd `Type=notify` for the primary: READY=1 once every slot has a ready worker,
// RELOADING=1 … READY=1 around a rolling reload, STOPPING=1 when shutdown begins, and WATCHDOG=1
// from the primary's event loop every half `$WATCHDOG_USEC` (a blocked primary stops pinging and
// systemd restarts it). The datagrams go through the adapter (`adapters/_sd_notify.ts`), in
// order; a failure is reported once per kind of failure, never thrown.

import type { SystemdChannel } from "./types.ts";

/** What the notifier is given. */
export interface NotifierHost {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(timer: unknown): void;
  /** Reports a failed notification. */
  error(error: Error): void;
}

/**
 * Sends the cluster's lifecycle to systemd.
 *
 * @example
 * ```ts ignore
 * const notifier = new SystemdNotifier(await adapter.systemd(), host);
 * notifier.ready("2 workers ready");
 * ```
 */
export class SystemdNotifier {
  #channel: SystemdChannel;
  #host: NotifierHost;
  #chain: Promise<void> = Promise.resolve();
  #watchdog: unknown;
  #reported = new Set<string>();
  #stopped = false;

  constructor(channel: SystemdChannel, host: NotifierHost) {
    this.#channel = channel;
    this.#host = host;
  }

  /** How datagrams are sent (for messages). */
  get transport(): string {
    return this.#channel.transport;
  }

  /** Resolves once every notification sent so far went out (or failed and was reported). */
  flushed(): Promise<void> {
    return this.#chain;
  }

  /** `READY=1` with a status line. */
  ready(status: string): void {
    this.#send(`READY=1\nSTATUS=${status}`);
  }

  /** `RELOADING=1` (the adapter adds `MONOTONIC_USEC`). */
  reloading(status: string): void {
    this.#send(`RELOADING=1\nSTATUS=${status}`);
  }

  /** `STOPPING=1`; the watchdog keeps pinging while workers drain. */
  stopping(status: string): void {
    this.#send(`STOPPING=1\nSTATUS=${status}`);
  }

  /** Starts the watchdog pings, if systemd watches this process. Idempotent. */
  startWatchdog(): void {
    const every = this.#channel.watchdogInterval;
    if (every === undefined || this.#watchdog !== undefined || this.#stopped) return;
    this.#watchdog = this.#host.setInterval(() => this.#send("WATCHDOG=1"), every);
  }

  /** Stops the watchdog (the process is about to exit). */
  stop(): void {
    this.#stopped = true;
    if (this.#watchdog !== undefined) this.#host.clearInterval(this.#watchdog);
  }

  #send(state: string): void {
    const kind = state.slice(0, state.indexOf("="));
    this.#chain = this.#chain.then(() => this.#channel.notify(state)).catch((error) => {
      // One report per kind: a missing binary would otherwise report every watchdog ping.
      if (this.#reported.has(kind)) return;
      this.#reported.add(kind);
      this.#host.error(error instanceof Error ? error : new Error(String(error)));
    });
  }
}
