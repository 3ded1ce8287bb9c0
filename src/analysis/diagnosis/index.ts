// Diagnosis: causes read from logs and measured on the data.
export { type Cause, type Diagnosis, diagnose, type LogRecord } from "./diagnose.js";
