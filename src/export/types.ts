import type { PipelineEvent } from "../event/model.ts";

/**
 * An export receives every event that passed the filters. push() must return at once: an export
 * keeps its own bounded queue and counts what it drops, so a slow collector never stalls receiving.
 */
export interface Exporter {
  readonly name: string;
  start(): Promise<void>;
  /** `line` is the event serialised once by the pipeline (compact JSON, no newline) */
  push(ev: PipelineEvent, line: string): void;
  /** raw datagrams as received, for exports that keep wire bytes (pcap) */
  pushRaw?(protocol: number, tsNs: bigint, datagram: Uint8Array): void;
  /** reopen files (SIGHUP) */
  reopen?(): void;
  /** items waiting in the export's queue, for producers that can wait (replay) */
  readonly queued?: number;
  /** resolves when the export's reader has gone for good (stdout closed); it then takes nothing */
  readonly readerGone?: Promise<void>;
  close(): Promise<void>;
}

/** An export cannot start because of its configuration (a port in use, an address not ours). */
export class ExportConfigError extends Error {}
