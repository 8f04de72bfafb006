/** Alert rules (engine.ts) and what their notifications do (actions.ts); docs/ALERT_SYSTEM.md. */
export { AlertEngine, compileAlerts, groupKey, MAX_GROUPS, type CompiledRule, type Notify } from "./engine.ts";
export { AlertActions, MAX_IN_FLIGHT } from "./actions.ts";
export { alertEvent } from "./event.ts";
