/**
 * The route cache: the same rules as the other caches (caches.ts), kept over the kernel's own
 * bytes (route-store.ts) because a route table can hold a full BGP feed. Bodies are decoded only
 * when something asks for them: a difference to report, --dump-cache.
 */
import type { BasicContext, DecodeContext } from "../decode/context.ts";
import { decodeRoute } from "../families/route/route.ts";
import type { NlEvent } from "../event/model.ts";
import { objectKind } from "../families/index.ts";
import { NLM_F_MULTI, NLM_F_REPLACE } from "../uapi/linux.gen.ts";
import { type CacheChange, cachedEventFromBody, isDelete, type RouteCounts } from "./change.ts";
import { bodyJson, serialise } from "../event/line.ts";
import { isIPv6, type RouteIdent, routeIdent, RouteStore } from "./route-store.ts";

const ROUTE_ADD = objectKind("route")!.add;

export class RouteCache {
  readonly kind = "route" as const;
  readonly routeCounts: RouteCounts = new Map();
  private store = new RouteStore();
  /** prefixes notifications spoke for while a dump was under way (see Caches.hold) */
  private held: Set<string> | undefined;
  /** routes the last replace left as notifications said although the dump said otherwise */
  unsettled = 0;

  hold(on: boolean): void {
    this.held = on ? new Set() : undefined;
  }
  /** decodes stored routes: current names, and the names of links gone since; counts nothing twice */
  private readonly view: DecodeContext;

  constructor(ctx: BasicContext) {
    this.view = {
      names: ctx.names,
      ifname: (i) => ctx.ifname(i) ?? ctx.formerIfname(i),
      setIfname: () => {},
      error: () => {},
      unknownAttr: () => {},
    };
  }

  get size(): number {
    return this.store.count;
  }

  /** after a burst: return the arena's slack */
  trim(): void {
    this.store.trim();
  }

  /** arena and index bytes */
  get bytes(): number {
    return this.store.bytes;
  }

  private body(s: RouteStore, o: number) {
    const p = s.payload(o);
    return decodeRoute(new DataView(p.buffer, p.byteOffset, p.byteLength), 0, p.length, this.view);
  }

  private json(s: RouteStore, o: number): string {
    return JSON.stringify(this.body(s, o) ?? {});
  }

  /** a stored route decoded, and its JSON text: made once, for a comparison and for the event reporting it */
  private decoded(s: RouteStore, o: number): { body: object; json: string } {
    const body = this.body(s, o) ?? {};
    return { body, json: JSON.stringify(body) };
  }

  /**
   * A live delete's change. Nothing on the receive path reads what was deleted (the event says it),
   * so its text is made only if asked for, from a copy of the bytes the cache held.
   */
  private deleted(bytes: Uint8Array): CacheChange {
    const view = this.view;
    let before: string | undefined;
    return {
      kind: "route",
      op: "del",
      get before() {
        return (before ??= JSON.stringify(decodeRoute(new DataView(bytes.buffer), 0, bytes.length, view) ?? {}));
      },
    };
  }

  private count(id: RouteIdent, by: number) {
    const k = `${id.family}|${id.table}|${id.protocol}`;
    const e = this.routeCounts.get(k);
    if (e) {
      e.n += by;
      if (e.n <= 0) this.routeCounts.delete(k);
    } else if (by > 0) {
      const n = this.view.names;
      this.routeCounts.set(k, { family: n.family(id.family), table: id.table, protocol: id.protocol, protocol_name: n.protocol(id.protocol), n: by });
    }
  }

  private drop(o: number) {
    this.count(this.store.ident(o), -1);
    this.store.remove(o);
  }

  /**
   * Apply one notification; `b[off, end)` is its rtmsg and attributes. Returns what changed
   * (nothing, if it repeated what we had).
   */
  apply(ev: NlEvent, b: Uint8Array, off: number, end: number): CacheChange | undefined {
    const id = routeIdent(b, off, end);
    if (!id) return undefined;
    // by prefix: a replace or an IPv6 merge touches every route under it
    this.held?.add(id.prefix);
    const s = this.store;
    const o = s.find(id);
    if (isDelete(ev)) {
      if (o < 0) return { kind: "route", op: "del", miss: true };
      const gone = s.payload(o).slice();
      this.drop(o);
      s.maybeCompact();
      return this.deleted(gone);
    }
    let before: string | undefined;
    if (o >= 0) {
      if (s.equals(o, b, off, end)) return undefined;
      before = this.json(s, o);
      this.drop(o);
    } else if ((ev.netlink.msg_flags & NLM_F_REPLACE) !== 0 || (isIPv6(id) && id.viaGateway)) {
      // the route this one replaces (or, in IPv6, merges with) had another nexthop, so another
      // identity, and the kernel sends no delete for it
      const replace = (ev.netlink.msg_flags & NLM_F_REPLACE) !== 0;
      for (const c of s.chain(id.prefix)) if (replace || s.ident(c).viaGateway) this.drop(c);
    }
    s.insert(id, b, off, end);
    this.count(id, +1);
    s.maybeCompact();
    // the body's text from the event's line: made once, for the exports as for this comparison
    const after = ev.netlink.route === undefined ? "{}" : bodyJson(ev);
    if (after === before) return undefined;
    return { kind: "route", op: before === undefined ? "add" : "change", before, after };
  }

  /**
   * Make the cache equal a fresh dump (each entry a route's rtmsg and attributes). Returns the
   * differences; only routes that differ are decoded.
   */
  replace(dumped: Uint8Array[]): CacheChange[] {
    const fresh = new RouteStore();
    const held = this.held ?? new Set<string>();
    const heldDumped = new RouteStore();
    for (const p of dumped) {
      const id = routeIdent(p, 0, p.length);
      if (!id) continue;
      const into = held.has(id.prefix) ? heldDumped : fresh;
      const dup = into.find(id);
      if (dup >= 0) into.remove(dup);
      into.insert(id, p, 0, p.length);
    }
    const old = this.store;
    // what a notification reported during the dump is at least as new as the dump's view of it
    this.unsettled = 0;
    for (const prefix of held) {
      const mine = old.chain(prefix);
      const theirs = heldDumped.chain(prefix);
      if (mine.length !== theirs.length) this.unsettled++;
      for (const o of mine) {
        const p = old.payload(o);
        const n = heldDumped.find(old.ident(o));
        if (n < 0 || !heldDumped.equals(n, p, 0, p.length)) this.unsettled++;
        fresh.insert(old.ident(o), p, 0, p.length);
      }
    }
    const out: CacheChange[] = [];
    old.forEach((o) => {
      const n = fresh.find(old.ident(o));
      if (n < 0) {
        const d = this.decoded(old, o);
        out.push({ kind: "route", op: "del", before: d.json, body: d.body });
      } else {
        const p = old.payload(o);
        if (fresh.equals(n, p, 0, p.length)) return;
        const before = this.json(old, o);
        const after = this.decoded(fresh, n);
        if (before !== after.json) out.push({ kind: "route", op: "change", before, after: after.json, body: after.body });
      }
    });
    fresh.forEach((n) => {
      if (old.find(fresh.ident(n)) >= 0) return;
      const d = this.decoded(fresh, n);
      out.push({ kind: "route", op: "add", after: d.json, body: d.body });
    });
    fresh.maybeCompact();
    this.store = fresh;
    this.routeCounts.clear();
    fresh.forEach((n) => this.count(fresh.ident(n), +1));
    return out;
  }

  /** The cached routes as events, in the form --dump-events prints (a dump reply: NLM_F_MULTI). */
  values(): NlEvent[] {
    const out: NlEvent[] = [];
    this.store.forEach((o) => {
      const body = this.body(this.store, o);
      if (body) out.push(cachedEventFromBody("route", body, ROUTE_ADD, NLM_F_MULTI));
    });
    return out;
  }

  /** The cached routes' lines as --dump-events prints them: each decoded from its bytes and serialised once. */
  lines(): string[] {
    const out: string[] = [];
    this.store.forEach((o) => {
      const body = this.body(this.store, o);
      if (body) out.push(serialise(cachedEventFromBody("route", body, ROUTE_ADD, NLM_F_MULTI)));
    });
    return out;
  }
}
