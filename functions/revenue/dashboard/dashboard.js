/* CognitionOS revenue dashboard: reads /v1/revenue/* with a pasted key and draws it.
 * Plain modern JS, no build step; Chart.js (inlined before this script) is the global `Chart`.
 * Amounts arrive as integers in minor units and stay so in chart data; only labels convert. */
"use strict";

(() => {
  const KEY_STORAGE = "cognitionos.revenue.apiKey";
  // Set while this tab is signed in (no secret: the cookie is HttpOnly), so that a reload
  // asks for the session again and a tab that never signed in does not ask (a 401).
  const SIGNED_IN_STORAGE = "cognitionos.revenue.signedIn";
  const FORECAST_MONTHS = 12;
  const FORECAST_HISTORY = 6; // actual months drawn before the forecast
  // The forecast chart's top is at most this multiple of the highest MRR it draws (actual or
  // forecast): a band fitted on little history can reach several times that and would
  // flatten the actual months into the floor. The caption gives the band's range in numbers.
  const BAND_HEADROOM = 1.4;
  const byId = (id) => document.getElementById(id);

  const COLORS = {
    accent: "#4a5fd9",
    accentFill: "rgba(74, 95, 217, 0.10)",
    forecast: "#d97706",
    band: "rgba(217, 119, 6, 0.16)",
    new: "#2f9e77",
    expansion: "#7cc7a8",
    reactivation: "#6f9fd8",
    contraction: "#f0a45d",
    churn: "#d9625b",
    net: "#1d2433",
    grid: "#eceef2",
    text: "#5d6778",
  };

  // ---- errors ------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, path, message) {
      super(message);
      this.status = status;
      this.path = path;
    }
  }

  class NetworkError extends Error {
    constructor(path, cause) {
      super(`network error on ${path}: ${cause.message}`);
      this.path = path;
    }
  }

  class ShapeError extends Error {}

  // ---- months (UTC, as the API counts them) ------------------------------------------------

  const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

  function monthNumber(text) {
    const found = MONTH.exec(text);
    if (!found) throw new ShapeError(`'${text}' is not a month (YYYY-MM)`);
    return Number(found[1]) * 12 + Number(found[2]) - 1;
  }

  function monthText(number) {
    const year = Math.floor(number / 12);
    return `${String(year).padStart(4, "0")}-${String((number % 12) + 1).padStart(2, "0")}`;
  }

  function currentMonth() {
    const now = new Date();
    return now.getUTCFullYear() * 12 + now.getUTCMonth();
  }

  const monthFormat = new Intl.DateTimeFormat(undefined, {
    month: "short",
    year: "numeric",
    timeZone: "UTC",
  });

  function monthLabel(text) {
    const number = monthNumber(text);
    return monthFormat.format(new Date(Date.UTC(Math.floor(number / 12), number % 12, 1)));
  }

  const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

  function dayLabel(isoDate) {
    const day = new Date(`${isoDate}T00:00:00Z`);
    if (Number.isNaN(day.getTime())) throw new ShapeError(`'${isoDate}' is not a date`);
    return dayFormat.format(day);
  }

  // ---- numbers -------------------------------------------------------------------------------

  function moneyFormat(currency) {
    const code = String(currency).toUpperCase();
    let exact;
    try {
      exact = new Intl.NumberFormat(undefined, {
        style: "currency",
        currency: code,
        trailingZeroDisplay: "stripIfInteger",
      });
    } catch (error) {
      throw new ShapeError(`the API's currency '${currency}' is not an ISO currency code`);
    }
    const scale = 10 ** exact.resolvedOptions().maximumFractionDigits;
    // Tiles show large totals in whole units: cents on a $300k ARR are noise.
    const whole = new Intl.NumberFormat(undefined, {
      style: "currency",
      currency: code,
      maximumFractionDigits: 0,
    });
    const compact = new Intl.NumberFormat(undefined, {
      style: "currency",
      currency: code,
      notation: "compact",
      maximumFractionDigits: 1,
    });
    return {
      code,
      full: (minor) => exact.format(minor / scale),
      whole: (minor) => whole.format(minor / scale),
      compact: (minor) => compact.format(minor / scale),
    };
  }

  const percentFormat = new Intl.NumberFormat(undefined, {
    style: "percent",
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  const wholePercent = new Intl.NumberFormat(undefined, {
    style: "percent",
    maximumFractionDigits: 0,
  });
  const countFormat = new Intl.NumberFormat();

  function signed(text, value) {
    return value > 0 ? `+${text}` : value < 0 ? `\u2212${text.replace(/^[-\u2212]/, "")}` : text;
  }

  // ---- the API -------------------------------------------------------------------------------

  // With a key: a Bearer header. Without one: the operator's session cookie (sent by the
  // browser, same origin only); a POST then carries the session's CSRF token as a header.
  async function api(path, key, { method = "GET", json = undefined } = {}) {
    const headers = { Accept: "application/json" };
    if (key) headers.Authorization = `Bearer ${key}`;
    if (json !== undefined) headers["Content-Type"] = "application/json";
    if (!key && method !== "GET" && session) headers["X-CSRF-Token"] = session.csrf_token;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (error) {
      throw new NetworkError(path, error);
    }
    const text = await response.text();
    let body = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch (error) {
        const problem = response.ok ? "is not JSON" : `(${response.status}) is not JSON`;
        throw new ApiError(response.status, path, `the answer ${problem}: ${error.message}`);
      }
    }
    if (!response.ok) {
      const message = body && typeof body.message === "string" ? body.message : response.statusText;
      throw new ApiError(response.status, path, message);
    }
    return body;
  }

  function need(body, fields, path) {
    if (body === null || typeof body !== "object") {
      throw new ShapeError(`${path} answered no JSON object`);
    }
    const missing = fields.filter((field) => !(field in body));
    if (missing.length) {
      throw new ShapeError(`${path} answered without ${missing.map((f) => `'${f}'`).join(", ")}`);
    }
    return body;
  }

  const MONTH_FIELDS = ["month", "mrr_start", "new", "expansion", "contraction", "churn",
    "reactivation", "mrr_end", "customers_start", "customers_end"];
  const CHURN_FIELDS = ["month", "customer_churn_rate", "gross_mrr_churn_rate",
    "net_mrr_churn_rate", "grr", "nrr"];

  function isEmptyMonth(row) {
    return MONTH_FIELDS.slice(1).every((field) => row[field] === 0);
  }

  async function fetchRevenue(key, periodMonths) {
    const end = currentMonth();
    const range = `start=${monthText(end - periodMonths + 1)}&end=${monthText(end)}`;
    const paths = {
      summary: "/v1/revenue/summary",
      mrr: `/v1/revenue/mrr?${range}`,
      cohorts: `/v1/revenue/cohorts?${range}`,
      forecast: `/v1/revenue/forecast?months=${FORECAST_MONTHS}`,
    };
    const [summary, mrr, cohorts, forecast] = await Promise.all([
      api(paths.summary, key), api(paths.mrr, key), api(paths.cohorts, key),
      api(paths.forecast, key),
    ]);
    need(summary, ["as_of", "currency", "mrr", "arr", "paying_customers", "arpu"], paths.summary);
    need(mrr, ["currency", "months"], paths.mrr);
    mrr.months.forEach((row) => need(row, MONTH_FIELDS, paths.mrr));
    need(cohorts, ["cohorts"], paths.cohorts);
    cohorts.cohorts.forEach((row) =>
      need(row, ["cohort", "customers", "logo_retention", "revenue_retention"], paths.cohorts));
    need(forecast, ["method", "points"], paths.forecast);
    forecast.points.forEach((row) => need(row, ["month", "mrr", "low", "high"], paths.forecast));

    // Months in order; the months before the first revenue carry nothing to draw.
    const months = [...mrr.months].sort((a, b) => monthNumber(a.month) - monthNumber(b.month));
    const first = months.findIndex((row) => !isEmptyMonth(row));
    const shown = first < 0 ? [] : months.slice(first);
    const churn = await Promise.all(shown.map(async (row) => {
      const path = `/v1/revenue/churn?month=${row.month}`;
      return need(await api(path, key), CHURN_FIELDS, path);
    }));
    // Likewise the cohorts before the first customer paid: nobody in them, nothing to retain.
    const byMonth = [...cohorts.cohorts].sort((a, b) => monthNumber(a.cohort) - monthNumber(b.cohort));
    const firstCohort = byMonth.findIndex((row) => row.customers > 0);
    return {
      summary,
      currency: mrr.currency,
      months: shown,
      churn,
      cohorts: firstCohort < 0 ? [] : byMonth.slice(firstCohort),
      forecast: {
        method: forecast.method,
        points: [...forecast.points].sort((a, b) => monthNumber(a.month) - monthNumber(b.month)),
      },
    };
  }

  // ---- page state ----------------------------------------------------------------------------

  const charts = new Map();
  let loadGeneration = 0;
  let cohortMeasure = "logo_retention";
  let lastData = null;
  // The signed-in operator's session ({operator, csrf_token, expires_at}), in memory only:
  // the cookie itself is HttpOnly, and GET /auth/session gives the token again on a reload.
  let session = null;

  function storedKey() {
    return sessionStorage.getItem(KEY_STORAGE);
  }

  function setState(state) {
    document.body.dataset.state = state;
    byId("dashboard").setAttribute("aria-busy", String(state === "loading"));
  }

  function showNotice(message, { retry = false, info = false } = {}) {
    byId("notice-text").textContent = message;
    byId("notice").classList.toggle("info", info);
    byId("retry").hidden = !retry;
    byId("notice").hidden = false;
  }

  function hideNotice() {
    byId("notice").hidden = true;
  }

  function clearCharts() {
    charts.forEach((chart) => chart.destroy());
    charts.clear();
    lastData = null;
  }

  function showKeyForm() {
    clearCharts();
    byId("dashboard").hidden = true;
    byId("toolbar").hidden = true;
    byId("key-panel").hidden = false;
    byId("subtitle").textContent = "CognitionOS back office";
    byId("api-key").value = "";
    byId("password").value = "";
    byId("sign-out").hidden = true;
    byId("forget-key").hidden = false;
    byId("api-key").focus();
    setState("key");
  }

  function forgetKey(message, options) {
    sessionStorage.removeItem(KEY_STORAGE);
    showKeyForm();
    if (message) showNotice(message, options);
  }

  async function signIn(email, password) {
    try {
      session = await api("/auth/sign-in", null, { method: "POST", json: { email, password } });
    } catch (error) {
      session = null;
      showNotice(error instanceof ApiError ? `Sign-in refused (${error.status}): ${error.message}`
        : `Could not sign in: ${error.message}`);
      return;
    }
    sessionStorage.removeItem(KEY_STORAGE); // the session, not a pasted key, from now on
    sessionStorage.setItem(SIGNED_IN_STORAGE, "1");
    load();
  }

  async function signOut() {
    try {
      await api("/auth/sign-out", null, { method: "POST" });
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) {
        showNotice(`Could not sign out: ${error.message}`, { retry: false });
        return;
      }
    }
    session = null;
    sessionStorage.removeItem(SIGNED_IN_STORAGE);
    showKeyForm();
    showNotice("Signed out: the session has ended.", { info: true });
  }

  function explain(error) {
    if (error instanceof ApiError && error.status === 401 && !storedKey()) {
      session = null;
      sessionStorage.removeItem(SIGNED_IN_STORAGE);
      showKeyForm();
      showNotice("Your session has ended (signed out, idle or too old): sign in again.");
      return "refused";
    }
    if (error instanceof ApiError && error.status === 401) {
      forgetKey("This key was refused (401): check that you pasted all of it and that it " +
        "has not been revoked.");
      return "refused";
    }
    if (error instanceof ApiError && error.status === 403) {
      forgetKey("This key lacks revenue:read (403): use a key with the revenue:read or admin " +
        "scope.");
      return "forbidden";
    }
    if (error instanceof NetworkError) {
      showNotice("Could not reach the API (network error). Check your connection, then retry.",
        { retry: true });
      return "offline";
    }
    if (error instanceof ApiError) {
      showNotice(`The API answered ${error.status} for ${error.path}: ${error.message}`,
        { retry: true });
      return "failed";
    }
    showNotice(`The dashboard could not read the API's answer: ${error.message}`,
      { retry: true });
    return "failed";
  }

  async function load() {
    const key = storedKey();
    if (!key && !session) {
      showKeyForm();
      return;
    }
    const generation = ++loadGeneration;
    hideNotice();
    byId("key-panel").hidden = true;
    byId("toolbar").hidden = false;
    byId("forget-key").hidden = !key;
    byId("sign-out").hidden = Boolean(key);
    setState("loading");
    try {
      const data = await fetchRevenue(key, Number(byId("range").value));
      if (generation !== loadGeneration) return; // a newer load (period change) won
      render(data);
    } catch (error) {
      if (generation !== loadGeneration) return;
      byId("dashboard").hidden = true;
      setState(`error-${explain(error)}`);
      if (!(error instanceof ApiError || error instanceof NetworkError)) console.error(error);
    }
  }

  // ---- rendering -----------------------------------------------------------------------------

  function render(data) {
    clearCharts();
    lastData = data;
    const money = moneyFormat(data.currency);
    const summaryMoney = moneyFormat(data.summary.currency);
    byId("subtitle").textContent =
      `As of ${dayLabel(data.summary.as_of)} \u00b7 amounts in ${summaryMoney.code}`;
    byId("dashboard").hidden = false;
    const empty = data.months.length === 0 && data.summary.mrr === 0;
    byId("empty-state").hidden = !empty;
    byId("charts").hidden = empty;
    byId("kpis").hidden = empty;
    if (empty) {
      setState("empty");
      return;
    }
    renderKpis(data, summaryMoney);
    renderMrr(data, money);
    renderMovements(data, money);
    renderChurn(data);
    renderForecast(data, money);
    renderCohorts(data);
    setState("ready");
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function tile(id, label, value, detail) {
    const card = element("div", "card kpi");
    card.dataset.kpi = id;
    card.append(element("div", "kpi-label", label), element("div", "kpi-value", value));
    const line = element("div", "kpi-detail");
    line.append(...detail);
    card.append(line);
    return card;
  }

  function change(text, value) {
    return element("span", value > 0 ? "up" : value < 0 ? "down" : "", signed(text, value));
  }

  function renderKpis(data, money) {
    const { summary, months, churn } = data;
    const latest = months[months.length - 1];
    const tiles = [];
    const mrrChange = latest ? latest.mrr_end - latest.mrr_start : 0;
    const mrrDetail = latest
      ? [change(money.whole(Math.abs(mrrChange)), mrrChange), ` in ${monthLabel(latest.month)}`]
      : ["no movements in this period"];
    if (latest && latest.mrr_start > 0) {
      mrrDetail.splice(1, 0, ` (${signed(percentFormat.format(Math.abs(mrrChange) / latest.mrr_start), mrrChange)})`);
    }
    tiles.push(tile("mrr", "MRR", money.whole(summary.mrr), mrrDetail));
    tiles.push(tile("arr", "ARR", money.whole(summary.arr), ["MRR \u00d7 12"]));
    const customerChange = latest ? latest.customers_end - latest.customers_start : 0;
    tiles.push(tile("customers", "Paying customers", countFormat.format(summary.paying_customers),
      latest
        ? [change(countFormat.format(Math.abs(customerChange)), customerChange),
          ` in ${monthLabel(latest.month)}`]
        : ["no movements in this period"]));
    tiles.push(tile("arpu", "ARPU", money.full(summary.arpu), ["MRR per paying customer"]));
    // Rates of the last complete month: the current one is still moving.
    const current = monthText(currentMonth());
    const complete = churn.filter((row) => row.month !== current);
    const rates = complete.length ? complete[complete.length - 1] : churn[churn.length - 1];
    if (rates) {
      tiles.push(tile("churn", "Customer churn", percentFormat.format(rates.customer_churn_rate),
        [`${monthLabel(rates.month)} \u00b7 MRR churn ${percentFormat.format(rates.gross_mrr_churn_rate)}`]));
      tiles.push(tile("nrr", "Net revenue retention", percentFormat.format(rates.nrr),
        [`${monthLabel(rates.month)} \u00b7 GRR ${percentFormat.format(rates.grr)}`]));
    }
    byId("kpis").replaceChildren(...tiles);
  }

  function axisTitle(text) {
    return { display: true, text, color: COLORS.text, font: { weight: "600", size: 12 } };
  }

  function moneyAxis(money, title, extra = {}) {
    return {
      title: axisTitle(title),
      grid: { color: COLORS.grid },
      border: { display: false },
      ticks: { callback: (value) => money.compact(value), maxTicksLimit: 6 },
      ...extra,
    };
  }

  function monthAxis() {
    return {
      title: axisTitle("Month"),
      grid: { display: false },
      ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 },
    };
  }

  function baseOptions(tooltipLabel) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: {
          position: "bottom",
          labels: { usePointStyle: true, pointStyle: "rectRounded", boxWidth: 10, boxHeight: 10 },
        },
        tooltip: {
          callbacks: {
            label: (item) => `${item.dataset.label}: ${tooltipLabel(item.raw, item)}`,
          },
        },
      },
    };
  }

  function draw(id, config) {
    const chart = new Chart(byId(id), config);
    charts.set(id, chart);
    return chart;
  }

  function renderMrr(data, money) {
    const options = baseOptions((value) => money.full(value));
    options.plugins.legend.display = false;
    options.scales = { x: monthAxis(), y: moneyAxis(money, `MRR (${money.code})`, { beginAtZero: true }) };
    draw("mrr-chart", {
      type: "line",
      data: {
        labels: data.months.map((row) => monthLabel(row.month)),
        datasets: [{
          label: "MRR",
          data: data.months.map((row) => row.mrr_end),
          borderColor: COLORS.accent,
          backgroundColor: COLORS.accentFill,
          fill: true,
          pointRadius: 3,
          pointHoverRadius: 5,
          borderWidth: 2,
        }],
      },
      options,
    });
    byId("mrr-note").textContent = `MRR at the end of each month, ${money.code}`;
  }

  function renderMovements(data, money) {
    const bar = (label, field, color, sign) => ({
      type: "bar",
      label,
      stack: "movements",
      data: data.months.map((row) => sign * row[field]),
      backgroundColor: color,
      borderRadius: 3,
      maxBarThickness: 36,
      order: 1,
    });
    const net = data.months.map((row) =>
      row.new + row.expansion + row.reactivation - row.contraction - row.churn);
    const options = baseOptions((value) => signed(money.full(Math.abs(value)), value));
    options.scales = {
      x: { ...monthAxis(), stacked: true },
      y: moneyAxis(money, `Change in MRR (${money.code})`, { stacked: true }),
    };
    draw("movements-chart", {
      data: {
        labels: data.months.map((row) => monthLabel(row.month)),
        datasets: [
          bar("New", "new", COLORS.new, 1),
          bar("Expansion", "expansion", COLORS.expansion, 1),
          bar("Reactivation", "reactivation", COLORS.reactivation, 1),
          bar("Contraction", "contraction", COLORS.contraction, -1),
          bar("Churn", "churn", COLORS.churn, -1),
          {
            type: "line",
            label: "Net change",
            stack: "net",
            data: net,
            borderColor: COLORS.net,
            backgroundColor: COLORS.net,
            borderWidth: 2,
            pointRadius: 3,
            tension: 0,
            order: 0,
          },
        ],
      },
      options,
    });
  }

  function renderChurn(data) {
    const line = (label, field, color, dashed) => ({
      label,
      data: data.churn.map((row) => row[field]),
      borderColor: color,
      backgroundColor: color,
      borderWidth: 2,
      borderDash: dashed ? [5, 4] : [],
      pointRadius: 3,
    });
    const options = baseOptions((value) => percentFormat.format(value));
    options.scales = {
      x: monthAxis(),
      y: {
        title: axisTitle("Rate per month (%)"),
        grid: { color: COLORS.grid },
        border: { display: false },
        ticks: { callback: (value) => percentFormat.format(value), maxTicksLimit: 6 },
      },
    };
    draw("churn-chart", {
      type: "line",
      data: {
        labels: data.churn.map((row) => monthLabel(row.month)),
        datasets: [
          line("Customer churn", "customer_churn_rate", COLORS.accent, false),
          line("Gross MRR churn", "gross_mrr_churn_rate", COLORS.churn, false),
          line("Net MRR churn", "net_mrr_churn_rate", COLORS.contraction, true),
        ],
      },
      options,
    });
  }

  // The lowest axis top >= value that at most 6 equal steps of 1, 2 or 5 times a power of
  // ten reach, and that step: ticks land on round figures, the top among them.
  function axisTop(value) {
    for (let power = 10 ** Math.floor(Math.log10(value / 6)); ; power *= 10) {
      for (const unit of [1, 2, 5]) {
        const step = unit * power;
        const steps = Math.ceil(value / step);
        if (steps <= 6) return { max: steps * step, step };
      }
    }
  }

  function forecastCaption(points, money, clipped) {
    const last = points[points.length - 1];
    const range = clipped ? "the shaded range, cut off at the top of the chart" : "the shaded range";
    return `Next ${points.length} months: ${money.whole(last.mrr)} by ${monthLabel(last.month)}, ` +
      `between ${money.whole(last.low)} and ${money.whole(last.high)} (${range}).`;
  }

  function renderForecast(data, money) {
    const points = data.forecast.points;
    byId("forecast-empty").hidden = points.length > 0;
    byId("forecast-chart").parentElement.hidden = points.length === 0;
    byId("forecast-method").hidden = points.length === 0;
    byId("forecast-method-text").textContent = data.forecast.method;
    if (!points.length) {
      byId("forecast-note").textContent = "Projected MRR with its range";
      return;
    }
    const history = data.months.slice(-FORECAST_HISTORY);
    const drawn = Math.max(...history.map((row) => row.mrr_end), ...points.map((row) => row.mrr));
    const highest = Math.max(...points.map((row) => row.high));
    const clipped = drawn > 0 && highest > drawn * BAND_HEADROOM;
    byId("forecast-note").textContent = forecastCaption(points, money, clipped);
    const gap = history.map(() => null);
    // The forecast and its band start at the last actual month so that the lines join.
    const joint = history.length ? [...gap.slice(1), history[history.length - 1].mrr_end] : [];
    const options = baseOptions((value) => money.full(value));
    options.plugins.legend.labels.filter = (item) => item.text !== "Low";
    options.plugins.tooltip.filter = (item) => item.raw !== null && item.dataset.label !== "Low";
    options.plugins.tooltip.callbacks.label = (item) => item.dataset.label === "Range"
      ? `Range: ${money.full(item.chart.data.datasets[2].data[item.dataIndex])} \u2013 ${money.full(item.raw)}`
      : `${item.dataset.label}: ${money.full(item.raw)}`;
    const y = moneyAxis(money, `MRR (${money.code})`, { beginAtZero: true });
    if (clipped) {
      const top = axisTop(drawn * BAND_HEADROOM);
      y.max = top.max;
      y.ticks = { ...y.ticks, stepSize: top.step, maxTicksLimit: 7 };
    }
    options.scales = { x: monthAxis(), y };
    draw("forecast-chart", {
      type: "line",
      data: {
        labels: [...history, ...points].map((row) => monthLabel(row.month)),
        datasets: [
          {
            label: "Actual MRR",
            data: [...history.map((row) => row.mrr_end), ...points.map(() => null)],
            borderColor: COLORS.accent,
            backgroundColor: COLORS.accent,
            borderWidth: 2,
            pointRadius: 3,
          },
          {
            label: "Forecast",
            data: [...joint, ...points.map((row) => row.mrr)],
            borderColor: COLORS.forecast,
            backgroundColor: COLORS.forecast,
            borderDash: [6, 5],
            borderWidth: 2,
            pointRadius: 2,
          },
          {
            label: "Low",
            data: [...joint, ...points.map((row) => row.low)],
            borderWidth: 0,
            pointRadius: 0,
            pointHitRadius: 0,
            fill: false,
          },
          {
            label: "Range",
            data: [...joint, ...points.map((row) => row.high)],
            borderWidth: 0,
            pointRadius: 0,
            pointHitRadius: 0,
            backgroundColor: COLORS.band,
            fill: "-1",
          },
        ],
      },
      options,
    });
  }

  // Light lavender at 0 to the accent at 100%; revenue retention above 100% turns green.
  function cellColors(value) {
    if (value > 1) {
      const t = Math.min(value - 1, 0.5) / 0.5;
      return { background: mix([209, 240, 226], [31, 138, 101], 0.35 + 0.65 * t), dark: t > 0.3 };
    }
    const t = Math.max(0, value);
    return { background: mix([243, 245, 253], [61, 82, 201], t), dark: t > 0.55 };
  }

  function mix(from, to, t) {
    const channel = (i) => Math.round(from[i] + (to[i] - from[i]) * t);
    return `rgb(${channel(0)}, ${channel(1)}, ${channel(2)})`;
  }

  function renderCohorts(data) {
    const cohorts = data.cohorts;
    const table = byId("cohort-table");
    byId("cohort-empty").hidden = cohorts.length > 0;
    table.hidden = cohorts.length === 0;
    const width = Math.max(0, ...cohorts.map((row) => row[cohortMeasure].length));
    const head = element("tr");
    head.append(element("th", "row-head", "Cohort"), element("th", "row-head", "Customers"));
    for (let k = 0; k < width; k += 1) head.append(element("th", "", `M${k}`));
    const axis = element("tr");
    axis.append(element("th", "axis-caption", ""), element("th", "axis-caption", ""));
    const caption = element("th", "axis-caption", "Months since first payment \u2192");
    caption.colSpan = Math.max(width, 1);
    axis.append(caption);
    table.tHead.replaceChildren(axis, head);
    const rows = cohorts.map((cohort) => {
      const row = element("tr");
      row.dataset.cohort = cohort.cohort;
      row.append(element("th", "row-head", monthLabel(cohort.cohort)),
        element("td", "size", countFormat.format(cohort.customers)));
      const values = cohort[cohortMeasure];
      for (let k = 0; k < width; k += 1) {
        if (cohort.customers === 0) {  // nobody started paying that month: nothing to retain
          row.append(element("td", "cell blank", k < values.length ? "\u2013" : ""));
          continue;
        }
        if (k >= values.length) {
          row.append(element("td", "cell blank"));
          continue;
        }
        const value = values[k];
        const cell = element("td", "cell", wholePercent.format(value));
        const colors = cellColors(value);
        cell.style.backgroundColor = colors.background;
        cell.style.color = colors.dark ? "#ffffff" : "#1d2433";
        cell.dataset.value = String(value);
        cell.title = `${monthLabel(cohort.cohort)} cohort, month ${k}: ${percentFormat.format(value)}`;
        row.append(cell);
      }
      return row;
    });
    table.tBodies[0].replaceChildren(...rows);
    table.dataset.measure = cohortMeasure;
    byId("cohort-note").textContent = cohortMeasure === "logo_retention"
      ? "Share of each cohort's customers still paying, by months since their first payment"
      : "Each cohort's MRR as a share of its first month's MRR; above 100% is net expansion";
  }

  function chooseCohortMeasure(measure) {
    cohortMeasure = measure;
    byId("cohort-logos").setAttribute("aria-pressed", String(measure === "logo_retention"));
    byId("cohort-revenue").setAttribute("aria-pressed", String(measure === "revenue_retention"));
    if (lastData) renderCohorts(lastData);
  }

  // ---- wiring --------------------------------------------------------------------------------

  function start() {
    const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    Chart.defaults.animation = reducedMotion ? false : { duration: 350 };
    Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
    Chart.defaults.font.size = 12;
    Chart.defaults.color = COLORS.text;
    // A month-end figure is a point: straight segments between months, never a curve that
    // invents values in between (or overshoots them).
    Chart.defaults.elements.line.tension = 0;
    Chart.defaults.elements.line.cubicInterpolationMode = "default";

    byId("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = byId("api-key").value.trim();
      if (!key) {
        showNotice("Paste an API key first.");
        return;
      }
      sessionStorage.setItem(KEY_STORAGE, key);
      load();
    });
    byId("sign-in-form").addEventListener("submit", (event) => {
      event.preventDefault();
      signIn(byId("email").value.trim(), byId("password").value);
    });
    byId("sign-out").addEventListener("click", () => signOut());
    byId("forget-key").addEventListener("click", () =>
      forgetKey("Key forgotten: it is no longer stored in this tab.", { info: true }));
    byId("retry").addEventListener("click", () => load());
    byId("range").addEventListener("change", () => load());
    byId("cohort-logos").addEventListener("click", () => chooseCohortMeasure("logo_retention"));
    byId("cohort-revenue").addEventListener("click", () => chooseCohortMeasure("revenue_retention"));
    // A reload keeps a live session: the cookie is still there, the CSRF token comes again.
    if (!sessionStorage.getItem(SIGNED_IN_STORAGE)) {
      load();
      return;
    }
    api("/auth/session", null)
      .then((live) => { session = live; })
      .catch(() => {
        session = null;
        sessionStorage.removeItem(SIGNED_IN_STORAGE);
      })
      .finally(() => load());
  }

  start();
})();
