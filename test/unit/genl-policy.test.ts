// Any generic netlink family typed by the kernel's own policies (src/families/genl/policy.ts), on
// messages this kernel sent: nlctrl's policy dumps for nlctrl and ethtool and an ethtool
// notification for a veth whose offloads changed (test/fixtures/genl/, test/fuzz/capture-genl.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { genlRegistry } from "../../src/families/genl/index.ts";
import { genlPolicies, nestedAttrs, parsePolicyDump } from "../../src/families/genl/policy.ts";
import type { GenlAttrModel } from "../../src/event/model.ts";
import { eventOf, familyRecords } from "../fixtures/genl.ts";

const DIR = join(import.meta.dir, "../fixtures/genl");
const bytes = (name: string) => Uint8Array.from(Buffer.from(readFileSync(join(DIR, name), "utf8").trim(), "hex"));

// the registry is the process's: what these tests teach it is taken back, for the files after
const before = new Map(genlRegistry.byId);
afterAll(() => {
  for (const id of [...genlRegistry.byId.keys()]) genlRegistry.remove(id);
  for (const f of before.values()) genlRegistry.add(f);
});

beforeAll(() => {
  for (const rec of familyRecords()) eventOf(rec);
});

describe("policy-typed generic netlink", () => {
  // ethtool's whole policy dump as this kernel answered it, one message per line
  const policyDump = () => readFileSync(join(DIR, "ethtool-policy-dump.hex"), "utf8").trim().split("\n").map((l) => Uint8Array.from(Buffer.from(l, "hex")));
  const ethtoolId = () => genlRegistry.byName.get("ethtool")!.id;

  test("the policy dump gives each command its policy and each policy its attributes' types", () => {
    const fp = parsePolicyDump(policyDump());
    expect(fp.policies.size).toBeGreaterThan(10);
    expect(fp.ops.size).toBeGreaterThan(10);
    // the request header every ethtool command shares: dev_index u32, dev_name string, flags u32
    const header = [...fp.policies.values()].find((p) => p.get(1)?.kind === "u32" && (p.get(2)?.kind === "nul_string" || p.get(2)?.kind === "string") && p.get(3)?.kind === "u32");
    expect(header).toBeDefined();
  });

  test("an ethtool notification: the header typed, the rest by shape where the policy does not fit", () => {
    const ev = eventOf(bytes("ethtool-ntf-0.hex"));
    expect(ev.netlink.genl_family_name).toBe("ethtool");
    // without the policy: shape only (no kind anywhere), nothing lost
    const shaped = ev.netlink.genl!.attrs!;
    expect(shaped.every((a) => a.kind === undefined)).toBe(true);
    expect(ev.netlink.genl!.cmd_name).toBe("features_ntf");

    genlPolicies.set(ethtoolId(), parsePolicyDump(policyDump()));
    try {
      const typed = eventOf(bytes("ethtool-ntf-0.hex")).netlink.genl!.attrs!;
      const head = typed[0]!;
      expect(head.kind).toBe("nested");
      const inner = head.value as GenlAttrModel[];
      expect(inner.some((a) => (a.kind === "nul_string" || a.kind === "string") && a.value === "v0")).toBe(true);
      expect(inner.some((a) => a.kind === "u32" && typeof a.value === "number")).toBe(true);
      expect(typed.length).toBe(shaped.length);
    } finally {
      genlPolicies.remove(ethtoolId());
    }
  });

  test("malformed nests and a policy that loops on itself never throw", () => {
    // a nest claiming 200 bytes in 12
    const bad = new Uint8Array([0xc8, 0, 1 | 0x80, 0x80, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(nestedAttrs(new DataView(bad.buffer), 0, bad.length, undefined, undefined)).toBeUndefined();
    // policy 0 nests itself: depth is bounded, the innermost shown as bytes
    const loop = { policies: new Map([[0, new Map([[1, { kind: "nested", policy: 0 }]])]]), ops: new Map([[1, 0]]) };
    let inner = new Uint8Array([4, 0, 1, 0]);
    for (let i = 0; i < 40; i++) {
      const outer = new Uint8Array(4 + inner.length);
      new DataView(outer.buffer).setUint16(0, outer.length, true);
      new DataView(outer.buffer).setUint16(2, 1, true);
      outer.set(inner, 4);
      inner = outer;
    }
    const got = nestedAttrs(new DataView(inner.buffer), 0, inner.length, loop, 0);
    expect(got).toBeDefined();
  });
});
