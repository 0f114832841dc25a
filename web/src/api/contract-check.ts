// Compile-time checks of the contract the console and the mini-program are written against
// (issue 18, item 6). `npm run typecheck` (vue-tsc --noEmit, strict) checks this file with the
// rest of the console, against the types generated from the committed ../openapi.json: a check
// that does not hold is a type error, and CI's console step fails.
import type { components, paths } from "./schema";

type Schemas = components["schemas"];
type Json<R> = R extends { content: { "application/json": infer T } } ? T : never;

/** `true` when T is `unknown` (or `any`): what an untyped `Record<string, unknown>` gives. */
type IsUnknown<T> = unknown extends T ? true : false;
type Holds<T extends true> = T;

/** A live score with its derivation, as `GET /members/{id}/score` answers it. */
export type LiveScore = Json<paths["/api/v1/members/{member_id}/score"]["get"]["responses"][200]>;
export type Derivation = LiveScore["result"];
/** A notice of the in-app inbox and its data: a union discriminated by the notice's `kind`. */
export type Notice = Schemas["NoticeOut"];
export type NoticeData = Notice["data"];
/** The 记分告知卡, narrowed from the union by its kind. */
export type DeductionCard = Extract<Notice, { kind: "deduction_card" }>;
/** The error every route answers with, and its code (any of the API's codes). */
export type ErrorCode = Schemas["ErrorBody"]["code"];
/** The codes one route declares for one status: submitting a claim answered 409. */
export type SubmitConflictCode = Json<paths["/api/v1/claims"]["post"]["responses"][409]>["code"];

export type ContractHolds = [
  Holds<IsUnknown<LiveScore> extends false ? true : false>,
  Holds<IsUnknown<Derivation> extends false ? true : false>,
  Holds<IsUnknown<NoticeData> extends false ? true : false>,
  Holds<ErrorCode extends string ? true : false>,
  // Typed results and notices (issue 18, items 1–2): the console stops compiling if the
  // derivation or a notice kind's data becomes `unknown` again, or the kind a plain string.
  Holds<IsUnknown<Derivation["total"]> extends false ? true : false>,
  Holds<IsUnknown<Derivation["derivation"][number]["kind"]> extends false ? true : false>,
  Holds<[DeductionCard] extends [never] ? false : true>,
  Holds<IsUnknown<DeductionCard["data"]> extends false ? true : false>,
  Holds<IsUnknown<DeductionCard["data"]["item_name"]> extends false ? true : false>,
  Holds<string extends Notice["kind"] ? false : true>,
  // Error codes are literals, the API's and each route's: neither may widen to `string` again.
  Holds<string extends ErrorCode ? false : true>,
  Holds<string extends SubmitConflictCode ? false : true>,
  Holds<"claim_state_conflict" extends SubmitConflictCode ? false : true>,
  Holds<"cap_reached" extends SubmitConflictCode ? true : false>,
];

/** What a screen reads from each: the code must compile against the generated types. */
export function readContract(score: LiveScore, notice: Notice, error: Schemas["ErrorBody"]) {
  const derivation: Derivation = score.result;
  const data: NoticeData = notice.data;
  const code: ErrorCode = error.code;
  return { period: score.period_key, derivation, kind: notice.kind, data, code };
}
