import type { PipelineEvent } from "../event/model.ts";

/**
 * Events already written as their JSON lines in bytes, each line ending in "\n": where the pipeline
 * writes a message's line straight from the message (no event object), it hands exports a block of
 * them. The bytes are the exports' to keep; nothing writes them again.
 */
export interface LineBlock {
  bytes: Uint8Array;
  lines: number;
}

/**
 * An export receives every event that passed the filters. push() must return at once: an export
 * keeps its own bounded queue and counts what it drops, so a slow collector never stalls receiving.
 */
export interface Exporter {
  readonly name: string;
  start(): Promise<void>;
  /** `line` is the event serialised once by the pipeline (compact JSON, no newline) */
  push(ev: PipelineEvent, line: string): void;
  /**
   * Lines as bytes (see LineBlock), in order with push()'s lines. An export without it gets every
   * event through push(): the pipeline writes blocks only when every export takes them.
   */
  pushBlock?: (block: LineBlock) => void;
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
