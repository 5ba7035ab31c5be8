"""The day's report page, ``reports/ds=…/index.html``: what a reliability engineer reads.

One self-contained file: styles inline, plots inline SVG drawn by matplotlib, no script and no
request to anywhere, so it opens from a disk, an e-mail or an MLflow artifact on a closed plant
network. It shows the risk distribution and the alerts of the day, drift per feature today and
over the last days, realized precision and recall per model version over time, the shadow
comparison, the actions monitoring decided and the registry's events. Portuguese by default
(like the API's texts), English with ``language="en"``.

The inputs are typed records (:class:`PageInputs`), so whoever assembles the day (the DAG, the
CLI, the demo) feeds the page without it reading any file itself.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from predmaint.features.drift import DriftResult
from predmaint.monitoring.decisions import Action
from predmaint.monitoring.metrics import RealizedMetrics
from predmaint.monitoring.performance import Performance
from predmaint.monitoring.report import DriftPoint, PerformancePoint
from predmaint.settings import Settings
from predmaint.storage import partition_dir, write_bytes_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Language = Literal["pt", "en"]
PAGE_FILE = "index.html"
ALERTS_SHOWN = 50


@dataclass(frozen=True)
class AlertRow:
    """One reading predicted to fail."""

    prediction_id: str
    failure_probability: float
    risk_level: str
    model_version: str
    udi: int | None = None
    product_id: str | None = None


@dataclass(frozen=True)
class RegistryEvent:
    """One entry of the registry history (promotion, rollback, automatic action)."""

    time: str
    version: str
    action: str
    reason: str


@dataclass(frozen=True)
class PageInputs:
    ds: date
    model_version: str | None = None
    threshold: float | None = None
    failure_probabilities: Sequence[float] = ()
    risk_levels: Mapping[str, int] = field(default_factory=dict)
    alerts: Sequence[AlertRow] = ()
    simulated: bool = False
    drift: DriftResult | None = None
    drift_history: Sequence[DriftPoint] = ()
    performance: Performance | None = None
    performance_history: Sequence[PerformancePoint] = ()
    actions: Sequence[Action] = ()
    events: Sequence[RegistryEvent] = ()


TEXTS: dict[Language, dict[str, str]] = {
    "pt": {
        "title": "predmaint — relatório do dia {ds}",
        "summary": (
            "Modelo em produção: versão {version}; {scored} leituras pontuadas; {alerts} alertas."
        ),
        "simulated": "Leituras simuladas: nenhum arquivo da planta chegou neste dia.",
        "risk": "Distribuição de risco",
        "risk_axis": "probabilidade de falha",
        "count_axis": "leituras",
        "threshold": "limiar de decisão",
        "alerts": "Alertas",
        "no_alerts": "Nenhum alerta neste dia.",
        "more_alerts": "e mais {n} alertas.",
        "drift": "Deriva por variável (hoje)",
        "drift_none": "Sem verificação de deriva neste dia.",
        "drift_no_verdict": (
            "Poucas leituras para um veredito ({rows}); valores apenas informativos."
        ),
        "drift_detected": "Deriva detectada em: {features}.",
        "drift_clear": "Nenhuma deriva detectada.",
        "drift_history": "Deriva nos últimos {n} dias (PSI; ● = deriva)",
        "feature": "variável",
        "drifted": "deriva",
        "yes": "sim",
        "no": "não",
        "performance": "Desempenho realizado por versão",
        "performance_none": "Ainda não há resultados (outcomes) para medir o desempenho.",
        "version": "versão",
        "predictions": "previsões",
        "labelled": "com resultado",
        "alert_rate": "taxa de alerta",
        "over_time": "Precisão e recall realizados ao longo do tempo",
        "shadow": "Comparação com o desafiante (sombra)",
        "shadow_none": "Nenhum desafiante pontuou em sombra nesta janela.",
        "agreement": "concordância",
        "compared": "leituras comparadas",
        "shared": "com resultado em comum",
        "actions": "Ações do monitoramento",
        "events": "Eventos do registro de modelos",
        "events_none": "Nenhum evento registrado.",
        "time": "quando",
        "action": "ação",
        "reason": "motivo",
        "risk_level": "nível de risco",
        "probability": "probabilidade",
        "reading": "leitura",
        "window": "Janela: {start} a {end}; {outcomes} resultados.",
    },
    "en": {
        "title": "predmaint — daily report {ds}",
        "summary": (
            "Model in production: version {version}; {scored} readings scored; {alerts} alerts."
        ),
        "simulated": "Simulated readings: no plant file arrived on this day.",
        "risk": "Risk distribution",
        "risk_axis": "failure probability",
        "count_axis": "readings",
        "threshold": "decision threshold",
        "alerts": "Alerts",
        "no_alerts": "No alert on this day.",
        "more_alerts": "and {n} more alerts.",
        "drift": "Drift per feature (today)",
        "drift_none": "No drift check on this day.",
        "drift_no_verdict": (
            "Too few readings for a verdict ({rows}); figures for information only."
        ),
        "drift_detected": "Drift detected in: {features}.",
        "drift_clear": "No drift detected.",
        "drift_history": "Drift over the last {n} days (PSI; ● = drift)",
        "feature": "feature",
        "drifted": "drift",
        "yes": "yes",
        "no": "no",
        "performance": "Realized performance per version",
        "performance_none": "No outcomes yet to measure performance with.",
        "version": "version",
        "predictions": "predictions",
        "labelled": "labelled",
        "alert_rate": "alert rate",
        "over_time": "Realized precision and recall over time",
        "shadow": "Shadow challenger comparison",
        "shadow_none": "No challenger scored in shadow in this window.",
        "agreement": "agreement",
        "compared": "readings compared",
        "shared": "shared labelled",
        "actions": "Monitoring actions",
        "events": "Model registry events",
        "events_none": "No recorded event.",
        "time": "time",
        "action": "action",
        "reason": "reason",
        "risk_level": "risk level",
        "probability": "probability",
        "reading": "reading",
        "window": "Window: {start} to {end}; {outcomes} outcomes.",
    },
}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:1.5rem;color:#1f2933;background:#fff}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d9e2ec}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{border:1px solid #d9e2ec;padding:.3rem .5rem;text-align:left}th{background:#f0f4f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#52606d}.warn{color:#b44d12;font-weight:600}.ok{color:#1f7a3a}
figure{margin:.5rem 0}figure svg{width:100%;max-width:900px;height:auto}
"""


#: No creation date (the same inputs give the same page) and no RDF block naming outside URLs.
_SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def _svg(figure: Figure, name: str) -> str:
    """A matplotlib figure as an inline ``<svg>`` element (no XML prologue).

    Each plot gets its own hash salt: the clip-path ids of several SVGs share one HTML page.
    """
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": f"predmaint-{name}"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata=_SVG_METADATA)
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _pyplot() -> Any:
    """pyplot on the Agg backend (imported when a page is drawn, not at import time)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9})
    return plt


def _risk_plot(inputs: PageInputs, t: Mapping[str, str]) -> str:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7.5, 2.6))
    values = np.asarray(inputs.failure_probabilities, dtype=float)
    axis.hist(values, bins=np.linspace(0.0, 1.0, 41), color="#3e7cb1")
    axis.set_yscale("log")
    if inputs.threshold is not None:
        axis.axvline(inputs.threshold, color="#b44d12", linestyle="--", label=t["threshold"])
        axis.legend(loc="upper right")
    axis.set_xlabel(t["risk_axis"])
    axis.set_ylabel(t["count_axis"])
    return _svg(figure, "risk")


def _drift_plot(drift: DriftResult) -> str:
    plt = _pyplot()
    names = list(drift.features)
    psi = [drift.features[n].psi for n in names]
    colours = ["#b44d12" if drift.features[n].drifted else "#3e7cb1" for n in names]
    figure, axis = plt.subplots(figsize=(7.5, 0.3 * len(names) + 0.8))
    axis.barh(names, psi, color=colours)
    axis.axvline(drift.rule.psi_threshold, color="#52606d", linestyle=":")
    axis.invert_yaxis()
    axis.set_xlabel("PSI")
    return _svg(figure, "drift")


def _drift_history_plot(points: Sequence[DriftPoint]) -> str:
    plt = _pyplot()
    names = list(dict.fromkeys(name for p in points for name in p.psi))  # the reference's order
    grid = np.array([[p.psi.get(n, np.nan) for p in points] for n in names])
    figure, axis = plt.subplots(figsize=(7.5, 0.3 * len(names) + 1.2))
    image = axis.imshow(
        grid, aspect="auto", cmap="Oranges", vmin=0.0, vmax=max(1.0, np.nanmax(grid))
    )
    for column, point in enumerate(points):
        for row, name in enumerate(names):
            if name in point.drifted:
                axis.plot(column, row, "o", color="#1f2933", markersize=4)
    axis.set_yticks(range(len(names)), names)
    step = max(1, len(points) // 10)
    axis.set_xticks(range(0, len(points), step), [p.ds.strftime("%m-%d") for p in points][::step])
    figure.colorbar(image, ax=axis, label="PSI")
    return _svg(figure, "drift-history")


def _performance_plot(points: Sequence[PerformancePoint], t: Mapping[str, str]) -> str:
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(7.5, 2.6), sharey=True)
    for version in sorted({p.version for p in points}, key=lambda v: (len(v), v)):
        mine = [p for p in points if p.version == version]
        days = [p.ds for p in mine]
        for axis, metric in zip(axes, ("precision", "recall"), strict=True):
            values = [getattr(p, metric) for p in mine]
            axis.plot(
                days,
                [np.nan if v is None else v for v in values],
                marker="o",
                markersize=3,
                label=f"v{version}",
            )
    from matplotlib.dates import AutoDateLocator, DateFormatter

    for axis, metric in zip(axes, ("precision", "recall"), strict=True):
        axis.set_title(metric)
        axis.set_ylim(0.0, 1.05)
        axis.xaxis.set_major_locator(
            AutoDateLocator(minticks=2, maxticks=8, interval_multiples=True)
        )
        axis.xaxis.set_major_formatter(DateFormatter("%m-%d"))
        axis.tick_params(axis="x", labelrotation=45)
    axes[0].legend(title=t["version"], loc="lower left")
    return _svg(figure, "performance")


def _e(value: object) -> str:
    return html.escape(str(value))


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ci(metrics: RealizedMetrics, name: str) -> str:
    row = metrics.to_dict()
    low, high = row[f"{name}_ci95"]
    value = row[name]
    if value is None:
        return "–"
    return f"{value:.3f} [{_num(low)}, {_num(high)}]"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _alerts_section(inputs: PageInputs, t: Mapping[str, str]) -> str:
    if not inputs.alerts:
        return f'<p class="ok">{_e(t["no_alerts"])}</p>'
    ordered = sorted(inputs.alerts, key=lambda a: -a.failure_probability)
    rows = [
        [
            a.prediction_id,
            "" if a.udi is None else str(a.udi),
            a.product_id or "",
            f"{a.failure_probability:.3f}",
            a.risk_level,
            a.model_version,
        ]
        for a in ordered[:ALERTS_SHOWN]
    ]
    table = _table(
        ["prediction_id", "udi", "product_id", t["probability"], t["risk_level"], t["version"]],
        rows,
        {3},
    )
    extra = len(ordered) - ALERTS_SHOWN
    more = f'<p class="note">{_e(t["more_alerts"].format(n=extra))}</p>' if extra > 0 else ""
    return table + more


def _drift_section(inputs: PageInputs, t: Mapping[str, str]) -> str:
    drift = inputs.drift
    if drift is None:
        return f'<p class="note">{_e(t["drift_none"])}</p>'
    if not drift.evaluated:
        verdict = f'<p class="note">{_e(t["drift_no_verdict"].format(rows=drift.rows))}</p>'
    elif drift.drift_detected:
        features = ", ".join(drift.drifted_features)
        verdict = f'<p class="warn">{_e(t["drift_detected"].format(features=features))}</p>'
    else:
        verdict = f'<p class="ok">{_e(t["drift_clear"])}</p>'
    rows = [
        [
            name,
            f"{f.psi:.3f}",
            f"{f.ks_statistic:.3f}",
            f"{f.ks_pvalue_adjusted:.2g}",
            t["yes"] if f.drifted else t["no"],
        ]
        for name, f in drift.features.items()
    ]
    table = _table([t["feature"], "PSI", "KS D", "KS p (Holm)", t["drifted"]], rows, {1, 2, 3})
    plot = f"<figure>{_drift_plot(drift)}</figure>" if drift.features else ""
    return verdict + plot + table


def _performance_section(inputs: PageInputs, t: Mapping[str, str]) -> str:
    performance = inputs.performance
    if performance is None or not performance.by_version:
        return f'<p class="note">{_e(t["performance_none"])}</p>'
    window = t["window"].format(
        start=performance.start, end=performance.end, outcomes=performance.outcomes
    )
    rows = [
        [
            f"v{v}",
            str(p.predictions),
            str(p.metrics.labelled),
            _num(p.alert_rate),
            _ci(p.metrics, "precision"),
            _ci(p.metrics, "recall"),
            _ci(p.metrics, "f1"),
        ]
        for v, p in performance.by_version.items()
    ]
    headers = [
        t["version"],
        t["predictions"],
        t["labelled"],
        t["alert_rate"],
        "precision [95 %]",
        "recall [95 %]",
        "F1 [95 %]",
    ]
    return f'<p class="note">{_e(window)}</p>' + _table(headers, rows, {1, 2, 3})


def _shadow_section(inputs: PageInputs, t: Mapping[str, str]) -> str:
    shadow = inputs.performance.shadow if inputs.performance else ()
    if not shadow:
        return f'<p class="note">{_e(t["shadow_none"])}</p>'
    rows = []
    for s in shadow:
        for role, version, metrics in (
            ("champion", s.champion_version, s.champion),
            ("challenger", s.challenger_version, s.challenger),
        ):
            rows.append(
                [
                    f"{role} v{version}",
                    str(s.compared),
                    _num(s.agreement_rate),
                    str(s.shared_labelled),
                    _ci(metrics, "precision"),
                    _ci(metrics, "recall"),
                    _ci(metrics, "f1"),
                ]
            )
    headers = [
        t["version"],
        t["compared"],
        t["agreement"],
        t["shared"],
        "precision [95 %]",
        "recall [95 %]",
        "F1 [95 %]",
    ]
    return _table(headers, rows, {1, 2, 3})


def _actions_section(inputs: PageInputs, t: Mapping[str, str]) -> str:
    if not inputs.actions:
        return ""
    rows = [[a.kind.value, a.reason, ", ".join(a.drifted_features)] for a in inputs.actions]
    return _table([t["action"], t["reason"], t["feature"]], rows, set())


def _events_section(inputs: PageInputs, t: Mapping[str, str]) -> str:
    if not inputs.events:
        return f'<p class="note">{_e(t["events_none"])}</p>'
    rows = [[e.time, f"v{e.version}", e.action, e.reason] for e in inputs.events]
    return _table([t["time"], t["version"], t["action"], t["reason"]], rows, set())


def render_page(inputs: PageInputs, language: Language = "pt") -> str:
    """The page's HTML (one string, nothing fetched when it is opened)."""
    t = TEXTS[language]
    scored = len(inputs.failure_probabilities)
    parts = [
        f"<h1>{_e(t['title'].format(ds=inputs.ds.isoformat()))}</h1>",
        "<p>"
        + _e(
            t["summary"].format(
                version=inputs.model_version or "–", scored=scored, alerts=len(inputs.alerts)
            )
        )
        + "</p>",
    ]
    if inputs.simulated:
        parts.append(f'<p class="note">{_e(t["simulated"])}</p>')
    parts.append(f"<h2>{_e(t['risk'])}</h2>")
    if scored:
        parts.append(f"<figure>{_risk_plot(inputs, t)}</figure>")
    if inputs.risk_levels:
        parts.append(
            _table(
                [t["risk_level"], t["count_axis"]],
                [[level, str(count)] for level, count in inputs.risk_levels.items()],
                {1},
            )
        )
    parts += [f"<h2>{_e(t['alerts'])}</h2>", _alerts_section(inputs, t)]
    parts += [f"<h2>{_e(t['drift'])}</h2>", _drift_section(inputs, t)]
    if inputs.drift_history:
        title = t["drift_history"].format(n=len(inputs.drift_history))
        parts += [
            f"<h2>{_e(title)}</h2>",
            f"<figure>{_drift_history_plot(inputs.drift_history)}</figure>",
        ]
    parts += [f"<h2>{_e(t['performance'])}</h2>", _performance_section(inputs, t)]
    if inputs.performance_history:
        parts += [
            f"<h2>{_e(t['over_time'])}</h2>",
            f"<figure>{_performance_plot(inputs.performance_history, t)}</figure>",
        ]
    parts += [f"<h2>{_e(t['shadow'])}</h2>", _shadow_section(inputs, t)]
    if inputs.actions:
        parts += [f"<h2>{_e(t['actions'])}</h2>", _actions_section(inputs, t)]
    parts += [f"<h2>{_e(t['events'])}</h2>", _events_section(inputs, t)]
    title = _e(t["title"].format(ds=inputs.ds.isoformat()))
    return (
        f'<!DOCTYPE html>\n<html lang="{"pt-BR" if language == "pt" else "en"}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )


def page_path(settings: Settings, ds: date) -> Path:
    return partition_dir(settings.reports_dir, ds) / PAGE_FILE


def write_page(settings: Settings, inputs: PageInputs) -> Path:
    """Render the day's page in ``settings.language`` and publish it atomically."""
    text = render_page(inputs, settings.language)
    return write_bytes_atomic(page_path(settings, inputs.ds), text.encode("utf-8"))
