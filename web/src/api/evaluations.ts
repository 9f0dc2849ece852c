// The evaluator API (/api/v1/evaluations, /api/v1/datasets) from issue 7: datasets, the cost
// prediction, submission (409 BUDGET_EXCEEDED on a hard limit), progress as server-sent events.
import { authHeaders, errorOf, get, post, withQuery } from "./client";

export interface Dataset {
  id: string;
  name: string;
  row_count?: number;
  rows_total?: number;
  has_ground_truth?: boolean;
  created_at?: string;
}

export interface Row {
  question: string;
  contexts: string[];
  answer: string;
  ground_truth?: string | null;
}

export interface Judge {
  provider: "openai" | "anthropic";
  model: string;
}

export interface EvaluationRequest {
  project_id: string;
  metrics: string[];
  judge: Judge;
  dataset_id?: string;
  rows?: Row[];
  name?: string;
}

export interface Estimate {
  estimated_cost: string;
  per_metric: { metric: string; cost: string }[];
  raw: Record<string, unknown>;
}

export interface Evaluation {
  id: string;
  name: string | null;
  project_id: string;
  status: string;
  metrics: string[];
  judge: Judge;
  rows_total: number;
  rows_done: number;
  calls?: number; // judge calls made so far (the ledger's count catches up to it)
  scores: Record<string, number | null> | null;
  estimated_cost?: string | null;
  actual_cost?: string | null;
  cost?: { estimated?: string | null; actual?: string | null; actual_error?: string } | null;
  warnings?: { message?: string; budget_name?: string }[] | string[];
  error?: string | null;
  created_at?: string;
  rows?: { row_index: number; results: Record<string, { status: string; score: number | null; reasoning?: string | null }> }[];
}

export const METRICS = [
  { name: "faithfulness", label: "Faithfulness", needsGroundTruth: false },
  { name: "answer_relevancy", label: "Answer relevancy", needsGroundTruth: false },
  { name: "context_precision", label: "Context precision", needsGroundTruth: false },
  { name: "context_recall", label: "Context recall", needsGroundTruth: true },
  { name: "answer_correctness", label: "Answer correctness", needsGroundTruth: true },
] as const;

export const JUDGES: { label: string; judge: Judge }[] = [
  { label: "OpenAI gpt-4o-mini", judge: { provider: "openai", model: "gpt-4o-mini" } },
  { label: "OpenAI gpt-4o", judge: { provider: "openai", model: "gpt-4o" } },
  { label: "OpenAI gpt-4.1-mini", judge: { provider: "openai", model: "gpt-4.1-mini" } },
  { label: "Anthropic claude-haiku-4-5", judge: { provider: "anthropic", model: "claude-haiku-4-5" } },
  { label: "Anthropic claude-sonnet-4-5", judge: { provider: "anthropic", model: "claude-sonnet-4-5" } },
];

type Raw = Record<string, unknown>;

export function normalizeEstimate(raw: Raw): Estimate {
  const total = String(raw.estimated_cost ?? raw.total_cost ?? raw.cost ?? "0");
  const by = (raw.per_metric ?? raw.breakdown ?? raw.metrics ?? raw.by_metric ?? []) as unknown;
  let perMetric: Estimate["per_metric"] = [];
  if (Array.isArray(by)) perMetric = (by as Raw[]).map((m) => ({ metric: String(m.metric ?? m.name), cost: String(m.estimated_cost ?? m.cost ?? m.total_cost ?? "0") }));
  else if (by && typeof by === "object")
    perMetric = Object.entries(by as Raw).map(([metric, v]) => ({ metric, cost: String(typeof v === "object" && v ? ((v as Raw).estimated_cost ?? (v as Raw).cost ?? "0") : v) }));
  return { estimated_cost: total, per_metric: perMetric, raw };
}

export const datasets = () => get<{ items: Dataset[]; next_cursor: string | null }>("/api/v1/datasets", { limit: 100 });
const MEDIA: Record<string, string> = { json: "application/json", jsonl: "application/x-ndjson", ndjson: "application/x-ndjson", csv: "text/csv" };

/** Sends the file as it is; the evaluator parses JSON, JSON Lines or CSV and names bad rows. */
export async function uploadDataset(name: string, file: File): Promise<Dataset> {
  const ext = file.name.split(".").pop()?.toLowerCase() ?? "";
  const type = MEDIA[ext] ?? (file.type || "application/json");
  const res = await fetch(withQuery("/api/v1/datasets", { name }), { method: "POST", body: file, headers: { ...authHeaders(), "Content-Type": type, Accept: "application/json" } });
  if (!res.ok) throw await errorOf(res);
  return ((await res.json()) as { data: Dataset }).data;
}
export const estimate = async (body: EvaluationRequest) => normalizeEstimate(await post<Raw>("/api/v1/evaluations/estimate", body));
export const submit = (body: EvaluationRequest) => post<Evaluation>("/api/v1/evaluations", body);
export const one = (id: string) => get<Evaluation>(`/api/v1/evaluations/${id}`);
export const list = (limit = 50) => get<{ items: Evaluation[]; next_cursor: string | null }>("/api/v1/evaluations", { limit });
export const cancel = (id: string) => post<Evaluation>(`/api/v1/evaluations/${id}/cancel`);

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Splits a text/event-stream into events; returns the events and the unfinished tail. */
export function parseSse(buffer: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  const blocks = buffer.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    const ev: SseEvent = { event: "message", data: "" };
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "event") ev.event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") ev.id = value;
    }
    if (data.length || ev.event !== "message") events.push({ ...ev, data: data.join("\n") });
  }
  return { events, rest };
}

/**
 * Follows /events with fetch (EventSource cannot send the bearer token) until the stream ends
 * or `signal` aborts. Throws when the stream cannot be opened, so callers can fall back to polling.
 */
export async function follow(id: string, onEvent: (e: SseEvent) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(`/api/v1/evaluations/${id}/events`, { headers: { ...authHeaders(), Accept: "text/event-stream" }, signal });
  if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const parsed = parseSse(buffer + value);
    buffer = parsed.rest;
    parsed.events.forEach(onEvent);
  }
}
