import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { generate } from "../../scripts/gen-validator.ts";

test("src/config/validate.gen.js is what scripts/gen-validator.ts makes from schema.json", () => {
  const have = readFileSync(new URL("../../src/config/validate.gen.js", import.meta.url), "utf8");
  expect(have === generate()).toBe(true);
});
