import { describe, expect, test } from "bun:test";
import { LineSorter } from "../../src/cli/line-sort.ts";

/** what --dump-events printed before runs existed: by group, then `<` on the strings */
function reference(lines: [number, string][]): string {
  const k = lines.slice().sort((a, b) => (a[0] - b[0]) || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return k.map(([, l]) => l + "\n").join("");
}

async function sorted(lines: [number, string][], runBytes: number): Promise<{ text: string; runs: number }> {
  const s = new LineSorter(3, { runBytes });
  for (const [g, l] of lines) s.add(g, l);
  const parts: Buffer[] = [];
  await s.output(async (b) => parts.push(Buffer.from(b)));
  const runs = s.runs;
  s.close();
  return { text: Buffer.concat(parts).toString("utf8"), runs };
}

/** seeded, so a failure can be reproduced */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
}

const PIECES = ["a", "b", "z", "{", "\"", "0", "9", "é", "ß", "\u00ff", "\u4e2d", "\ue000", "\uffee", "😀", "𝄞", "\\n"];

function lines(n: number, seed: number): [number, string][] {
  const r = rng(seed);
  const out: [number, string][] = [];
  const prefix = '{"type":"route","netlink":{"route":{"dst":"';
  for (let i = 0; i < n; i++) {
    let l = prefix;
    const len = Math.floor(r() * 12);
    for (let j = 0; j < len; j++) l += PIECES[Math.floor(r() * PIECES.length)];
    if (r() < 0.1 && out.length) l = out[Math.floor(r() * out.length)]![1];
    out.push([Math.floor(r() * 3), l]);
  }
  return out;
}

describe("LineSorter", () => {
  test("orders as JS strings compare, in memory and across runs, ASCII and not", async () => {
    for (const [seed, n, runBytes] of [[1, 2000, 1 << 20], [2, 2000, 4096], [3, 5000, 1024], [4, 300, 200]] as const) {
      const ls = lines(n, seed);
      const got = await sorted(ls, runBytes);
      expect(got.text).toBe(reference(ls));
      if (runBytes < 8192) expect(got.runs).toBeGreaterThan(1);
    }
  });

  test("ASCII lines sorted by words, with long shared prefixes and duplicates", async () => {
    const r = rng(7);
    const ls: [number, string][] = [];
    for (let i = 0; i < 20000; i++) {
      const a = Math.floor(r() * 5000);
      ls.push([i % 2, `{"type":"route","dst":"172.${a >> 8}.${a & 255}.0/24","table":${10 + (a % 10)},"metric":${Math.floor(r() * 3)}}`]);
    }
    for (const runBytes of [1 << 22, 65536]) expect((await sorted(ls, runBytes)).text).toBe(reference(ls));
  });

  test("a line longer than a run and than the merge's read block", async () => {
    const big = "x".repeat(200000);
    const ls: [number, string][] = [[0, "b"], [0, big], [0, "a" + big], [0, "c"], [1, big + "y"], [1, "d"]];
    expect((await sorted(ls, 1000)).text).toBe(reference(ls));
  });

  test("lines written in place with a lead and a trail held by reference sort as the whole lines do", async () => {
    const r = rng(11);
    const enc = new TextEncoder();
    // a few leads and trails, shared by identity as a line writer's pieces are; some extend others,
    // and some lines are nothing but a lead and a trail (their own part empty)
    const leadTexts = ['{"type":"route","a":"', '{"type":"route","a":"1', '{"type":"route","b":"', '{"type":"link"', '{"type":"route","a":"1é', ""];
    const trailTexts = ['/32","t":10}', '/32","t":11}', '/24","t":10,"x":"é"}', "}", '/32","t":10}x', ""];
    const leads = leadTexts.map((t) => enc.encode(t));
    const trails = trailTexts.map((t) => enc.encode(t));
    for (const runBytes of [1 << 20, 2048]) {
      const want: [number, string][] = [];
      const sorter = new LineSorter(2, { runBytes });
      for (let i = 0; i < 4000; i++) {
        const k = Math.floor(r() * leads.length);
        const q = Math.floor(r() * trails.length);
        let own = "";
        for (let j = Math.floor(r() * 4); j > 0; j--) own += PIECES[Math.floor(r() * PIECES.length)];
        const g = Math.floor(r() * 2);
        const at = sorter.reserve(1 << 12);
        const n = sorter.buffer.write(own, at, "utf8");
        sorter.commit(g, n, leads[k]!.length ? leads[k] : undefined, trails[q]!.length ? trails[q] : undefined);
        want.push([g, leadTexts[k] + own + trailTexts[q]]);
      }
      const parts: Buffer[] = [];
      await sorter.output(async (b) => parts.push(Buffer.from(b)));
      sorter.close();
      expect(Buffer.concat(parts).toString("utf8")).toBe(reference(want));
    }
  });

  test("reset forgets lines already written out", async () => {
    const s = new LineSorter(1, { runBytes: 100 });
    for (let i = 0; i < 50; i++) s.add(0, `old ${i}`);
    s.reset();
    for (const l of ["z", "y", "x"]) s.add(0, l);
    const parts: Buffer[] = [];
    await s.output(async (b) => parts.push(Buffer.from(b)));
    s.close();
    expect(Buffer.concat(parts).toString()).toBe("x\ny\nz\n");
  });
});
