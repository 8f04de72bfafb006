// Types for the generated validator (scripts/gen-validator.ts).
import type { ValidateFunction } from "ajv";
export declare const validate: ValidateFunction;
export default validate;
