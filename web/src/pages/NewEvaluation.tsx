import { useEffect, useMemo, useState } from "react";
import * as budgetApi from "../api/budgets";
import { ApiError, isMissingRoute } from "../api/client";
import * as api from "../api/evaluations";
import type { Dataset, EvaluationRequest, Row } from "../api/evaluations";
import type { Session } from "../auth";
import { Panel, Problem } from "../components/ui";
import { useAsync, useDebounced } from "../hooks";
import { hasGroundTruth, parseRows } from "../lib/datasetFile";
import { formatUsd } from "../lib/money";
import { navigate } from "../router";
import { type Prediction, PredictionPanel } from "./Prediction";

interface Source {
  dataset?: Dataset;
  rows?: Row[]; // inline, when the server keeps no datasets (or before one is saved)
  groundTruth: boolean | null;
}

const datasetRows = (d: Dataset) => d.rows_total ?? d.row_count;

export default function NewEvaluation({ session }: { session: Session }) {
  const list = useAsync(() => api.datasets(), []);
  const [extra, setExtra] = useState<Dataset[]>([]);
  const [source, setSource] = useState<Source | null>(null);
  const [metrics, setMetrics] = useState<string[]>(["faithfulness", "answer_relevancy"]);
  const [judge, setJudge] = useState(0);
  const [project, setProject] = useState("default");
  const [name, setName] = useState("");
  const [upload, setUpload] = useState<{ busy: boolean; error?: unknown; note?: string }>({ busy: false });
  const [prediction, setPrediction] = useState<Prediction>({ loading: false });
  const [submitting, setSubmitting] = useState<{ busy: boolean; error?: unknown }>({ busy: false });

  const datasets = [...extra, ...(list.data?.items ?? [])];
  const chosen = source?.dataset?.id ?? (source?.rows ? "inline" : "");

  const request: EvaluationRequest | null = useMemo(() => {
    if (!source || !metrics.length || !project.trim()) return null;
    const body: EvaluationRequest = { project_id: project.trim(), metrics, judge: api.JUDGES[judge]!.judge, name: name.trim() || undefined };
    if (source.dataset) body.dataset_id = source.dataset.id;
    else body.rows = source.rows;
    return body;
  }, [source, metrics, judge, project, name]);
  const settled = useDebounced(request, 250);

  useEffect(() => {
    if (!settled) {
      setPrediction({ loading: false });
      return;
    }
    let live = true;
    setPrediction((p) => ({ ...p, loading: true }));
    (async () => {
      const next: Prediction = { loading: false };
      try {
        next.estimate = await api.estimate(settled);
        try {
          next.check = await budgetApi.check({ project_id: settled.project_id, user_id: session.userId, estimated_cost: next.estimate.estimated_cost });
        } catch (e) {
          next.checkError = e;
        }
      } catch (e) {
        next.error = e;
      }
      if (live) setPrediction(next);
    })();
    return () => {
      live = false;
    };
  }, [settled, session.userId]);

  const onFile = async (file: File | undefined) => {
    if (!file) return;
    setUpload({ busy: true });
    try {
      let rows: Row[] | null = null;
      try {
        rows = parseRows(file.name, await file.text()); // only to know about ground truth
      } catch {
        rows = null; // the evaluator says what is wrong with the file
      }
      const dsName = file.name.replace(/\.[^.]+$/, "");
      let saved: Dataset;
      try {
        saved = await api.uploadDataset(dsName, file);
      } catch (e) {
        if (rows && isMissingRoute(e)) {
          setSource({ rows, groundTruth: hasGroundTruth(rows) });
          setUpload({ busy: false, note: `${rows.length} rows from ${file.name} will be sent with the evaluation.` });
          return;
        }
        throw e;
      }
      setExtra((x) => [saved, ...x]);
      setSource({ dataset: saved, groundTruth: rows ? hasGroundTruth(rows) : (saved.has_ground_truth ?? null) });
      setUpload({ busy: false, note: `Uploaded ${saved.name} (${datasetRows(saved) ?? rows?.length ?? "?"} rows).` });
    } catch (e) {
      setUpload({ busy: false, error: e });
    }
  };

  const toggle = (m: string) => setMetrics((ms) => (ms.includes(m) ? ms.filter((x) => x !== m) : [...ms, m]));
  const refused = prediction.check && !prediction.check.allowed;

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!request) return;
    setSubmitting({ busy: true });
    try {
      const created = await api.submit(request);
      navigate(`/evaluations/${created.id}`);
    } catch (e) {
      setSubmitting({ busy: false, error: e });
    }
  };
  const submitError = submitting.error;
  const budgetExceeded = submitError instanceof ApiError && submitError.code === "BUDGET_EXCEEDED";

  return (
    <div className="page">
      <h1>New evaluation</h1>
      <div className="two wide-left">
        <form className="form panel" onSubmit={submit} aria-label="New evaluation">
          <fieldset className="field">
            <legend>Dataset</legend>
            <label htmlFor="dataset">Saved dataset</label>
            <select
              id="dataset"
              value={chosen}
              onChange={(e) => {
                const d = datasets.find((x) => x.id === e.target.value);
                setSource(d ? { dataset: d, groundTruth: d.has_ground_truth ?? null } : null);
              }}
            >
              <option value="">{list.data ? "Choose a dataset…" : "Loading datasets…"}</option>
              {source?.rows ? <option value="inline">uploaded rows ({source.rows.length})</option> : null}
              {datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                  {datasetRows(d) !== undefined ? ` (${datasetRows(d)} rows)` : ""}
                </option>
              ))}
            </select>
            {list.error && !isMissingRoute(list.error) ? <Problem error={list.error} what="Datasets" /> : null}
            <label htmlFor="upload">Or upload one (JSON, JSON Lines or CSV; question, contexts, answer, optional ground_truth)</label>
            <input id="upload" type="file" accept=".json,.jsonl,.csv,application/json,text/csv" onChange={(e) => onFile(e.target.files?.[0])} disabled={upload.busy} />
            {upload.note ? (
              <p className="ok" role="status">
                {upload.note}
              </p>
            ) : null}
            <Problem error={upload.error} what="Upload" />
          </fieldset>
          <fieldset className="field">
            <legend>Metrics</legend>
            {api.METRICS.map((m) => {
              const blocked = m.needsGroundTruth && source?.groundTruth === false;
              return (
                <label key={m.name} className="inline">
                  <input type="checkbox" name="metric" value={m.name} checked={metrics.includes(m.name) && !blocked} disabled={blocked} onChange={() => toggle(m.name)} />
                  {m.label}
                  {m.needsGroundTruth ? <span className="muted"> (needs ground truth{blocked ? ": this dataset has none" : ""})</span> : null}
                </label>
              );
            })}
          </fieldset>
          <div className="row">
            <div className="field">
              <label htmlFor="judge">Judge model</label>
              <select id="judge" value={judge} onChange={(e) => setJudge(Number(e.target.value))}>
                {api.JUDGES.map((j, i) => (
                  <option key={j.label} value={i}>
                    {j.label}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="project">Project</label>
              <input id="project" value={project} onChange={(e) => setProject(e.target.value)} required />
            </div>
          </div>
          <div className="field">
            <label htmlFor="eval-name">Name (optional)</label>
            <input id="eval-name" value={name} onChange={(e) => setName(e.target.value)} />
          </div>
          {submitError ? (
            budgetExceeded ? (
              <div className="refusal" role="alert" data-testid="submit-refused">
                <strong>Refused: {submitError.message}</strong>
                {submitError.details.budget_name ? (
                  <p>
                    Budget {String(submitError.details.budget_name)}: {formatUsd(String(submitError.details.usage_amount ?? "0"))} used of {formatUsd(String(submitError.details.limit_amount ?? "0"))}; this run needs {formatUsd(String(submitError.details.requested ?? prediction.estimate?.estimated_cost ?? "0"))}.
                  </p>
                ) : null}
              </div>
            ) : (
              <Problem error={submitError} what="Submitting" />
            )
          ) : null}
          <div className="actions">
            <button type="submit" className="primary" disabled={!request || submitting.busy || Boolean(refused)} aria-describedby={refused ? "prediction-title" : undefined}>
              {submitting.busy ? "Submitting…" : refused ? "Refused by a hard limit" : "Run evaluation"}
            </button>
          </div>
        </form>
        <PredictionPanel prediction={prediction} />
      </div>
      <Panel title="How the prediction works">
        <p className="muted">
          The evaluator counts the prompt tokens each metric will send for every row, adds the output it expects from past runs of that metric and model, and prices both with the ledger&apos;s price in force now. The budget check then asks every budget this run falls under (yours, the project&apos;s, the organization&apos;s) whether the predicted cost still fits.
        </p>
      </Panel>
    </div>
  );
}
