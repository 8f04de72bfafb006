/**
 * Every protocol family nlmon decodes, one line each. Adding a family is its folder and a line
 * here; the generic layers find it by protocol number.
 */
import type { Family } from "../decode/family.ts";
import { genlFamily } from "./genl/index.ts";
import { routeFamily } from "./route/index.ts";

export const FAMILY_LIST: readonly Family[] = [
  routeFamily,
  genlFamily,
];

export function familyOf(protocol: number): Family | undefined {
  return FAMILY_LIST.find((f) => f.protocol === protocol);
}
