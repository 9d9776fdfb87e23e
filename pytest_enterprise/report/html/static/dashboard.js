// pytest-enterprise dashboard: the table of tests. The rows travel once, as gzip-compressed
// JSON in base64 (#tests-data); the page renders only the rows a person can see (200 at a
// time), so 100,000 tests open as fast as 1,000. No request leaves the page.
"use strict";
(function () {
  const PAGE = 200;
  const data = document.getElementById("tests-data");
  const body = document.getElementById("tests-body");
  const status = document.getElementById("tests-status");
  const more = document.getElementById("more");
  const search = document.getElementById("search");
  const sortButton = document.getElementById("sort-duration");
  const sortHeader = sortButton.parentElement;
  const columns = data.dataset.columns.split(" ");
  const at = Object.fromEntries(columns.map((name, index) => [name, index]));
  const filters = {
    outcome: document.getElementById("filter-outcome"),
    marker: document.getElementById("filter-marker"),
    control: document.getElementById("filter-control"),
    flag: document.getElementById("filter-flag"),
    environment: document.getElementById("filter-environment"),
  };
  let rows = [];
  let names = [];  // lower-cased node ids, for the search
  let shown = [];  // indices of the rows that match, in display order
  let limit = PAGE;
  let order = "none";  // sort by duration: none, descending, ascending
  let typedAt = 0;  // when the search last changed, for data-search-ms (benchmarks read it)

  function decode(text) {
    const binary = atob(text.trim());
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }

  function values(index) {
    // Every value a filter can take for row ``index``, by filter.
    const row = rows[index];
    return {
      outcome: [row[at.outcome]],
      marker: row[at.markers],
      control: row[at.controls],
      flag: row[at.flags],
      environment: row[at.environment] ? [row[at.environment]] : [],
    };
  }

  function fillFilters() {
    const seen = {outcome: new Set(), marker: new Set(), control: new Set(), flag: new Set(), environment: new Set()};
    for (let i = 0; i < rows.length; i++) {
      const row = values(i);
      for (const key in seen) for (const value of row[key]) if (value) seen[key].add(value);
    }
    for (const key in filters) {
      const select = filters[key];
      const options = Array.from(seen[key]).sort();
      for (const value of options) {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = value;
        select.appendChild(option);
      }
      select.disabled = options.length === 0;
    }
  }

  function matches(index, needle, chosen) {
    if (needle && names[index].indexOf(needle) < 0) return false;
    const row = rows[index];
    if (chosen.outcome && row[at.outcome] !== chosen.outcome) return false;
    if (chosen.marker && row[at.markers].indexOf(chosen.marker) < 0) return false;
    if (chosen.control && row[at.controls].indexOf(chosen.control) < 0) return false;
    if (chosen.flag && row[at.flags].indexOf(chosen.flag) < 0) return false;
    if (chosen.environment && row[at.environment] !== chosen.environment) return false;
    return true;
  }

  function select() {
    const needle = search.value.trim().toLowerCase();
    const chosen = {};
    for (const key in filters) chosen[key] = filters[key].value;
    shown = [];
    for (let i = 0; i < rows.length; i++) if (matches(i, needle, chosen)) shown.push(i);
    if (order !== "none") {
      const sign = order === "descending" ? -1 : 1;
      shown.sort((a, b) => sign * ((rows[a][at.duration] || 0) - (rows[b][at.duration] || 0)));
    }
    limit = PAGE;
    render();
  }

  function cell(tag, text, className) {
    const element = document.createElement(tag);
    element.textContent = text;
    if (className) element.className = className;
    return element;
  }

  function detailRow(row, id) {
    const tr = document.createElement("tr");
    tr.id = id;
    tr.className = "detail";
    tr.hidden = true;
    const td = document.createElement("td");
    td.colSpan = 5;
    const facts = [];
    if (row[at.category]) facts.push("category " + row[at.category]);
    if (row[at.exception]) facts.push(row[at.exception]);
    if (row[at.attempts] > 1) facts.push(row[at.attempts] + " attempts");
    if (row[at.flaky]) facts.push("flaky: passed on a rerun");
    if (row[at.worker]) facts.push("worker " + row[at.worker]);
    if (row[at.markers].length) facts.push("markers " + row[at.markers].join(", "));
    if (row[at.controls].length) facts.push("controls " + row[at.controls].join(", "));
    if (row[at.flags].length) facts.push("flags " + row[at.flags].join(", "));
    td.appendChild(cell("p", facts.join(" · ") || "no details recorded"));
    for (const attempt of row[at.details] || []) {
      const [number, outcome, message, phases, texts] = attempt;
      const block = document.createElement("details");
      block.open = outcome !== "passed";
      block.appendChild(cell("summary", "attempt " + number + ": " + outcome));
      const full = texts || {};
      if (full.traceback) block.appendChild(cell("pre", full.traceback, "traceback"));
      else if (message) block.appendChild(cell("pre", message, "message"));
      for (const [key, label] of [["stdout", "captured stdout"], ["stderr", "captured stderr"], ["log", "captured log"]]) {
        if (!full[key]) continue;
        const captured = document.createElement("details");  // collapsed: output can be long
        captured.appendChild(cell("summary", label));
        captured.appendChild(cell("pre", full[key], "captured"));
        block.appendChild(captured);
      }
      const list = document.createElement("ul");
      for (const [when, phaseOutcome, seconds] of phases) {
        list.appendChild(cell("li", when + ": " + phaseOutcome + (seconds == null ? "" : " in " + seconds + " s")));
      }
      block.appendChild(list);
      td.appendChild(block);
    }
    tr.appendChild(td);
    return tr;
  }

  function rowElement(index) {
    const row = rows[index];
    const tr = document.createElement("tr");
    tr.className = "outcome-" + row[at.outcome];
    tr.dataset.index = String(index);
    const name = document.createElement("th");
    name.scope = "row";
    const button = cell("button", row[at.nodeid], "nodeid");
    button.type = "button";
    button.setAttribute("aria-expanded", "false");
    const id = "detail-" + index;
    button.setAttribute("aria-controls", id);
    name.appendChild(button);
    tr.appendChild(name);
    tr.appendChild(cell("td", row[at.outcome] + (row[at.flaky] ? " (flaky)" : ""), "outcome"));
    tr.appendChild(cell("td", row[at.duration] == null ? "" : row[at.duration].toFixed(3), "number"));
    tr.appendChild(cell("td", row[at.stage] || ""));
    tr.appendChild(cell("td", row[at.environment] || ""));
    button.addEventListener("click", () => {
      let detail = document.getElementById(id);
      if (!detail) {
        detail = detailRow(row, id);
        tr.after(detail);
      }
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      detail.hidden = !open;
    });
    return tr;
  }

  function render() {
    const fragment = document.createDocumentFragment();
    const count = Math.min(limit, shown.length);
    for (let i = 0; i < count; i++) fragment.appendChild(rowElement(shown[i]));
    body.replaceChildren(fragment);
    more.hidden = shown.length <= limit;
    status.textContent = "Showing " + count.toLocaleString("en") + " of " + shown.length.toLocaleString("en") +
      " matching test(s); " + rows.length.toLocaleString("en") + " in this run.";
    if (typedAt) {
      document.body.dataset.searchMs = (performance.now() - typedAt).toFixed(1);
      typedAt = 0;
    }
  }

  function start() {
    const begun = performance.now();
    if (typeof DecompressionStream === "undefined") {
      status.textContent = "This browser cannot decompress the table of tests (it needs DecompressionStream).";
      return;
    }
    decode(data.textContent).then((decoded) => {
      rows = decoded;
      names = rows.map((row) => String(row[at.nodeid]).toLowerCase());
      fillFilters();
      select();
      document.body.dataset.ready = "true";
      // How long the table took, and when it was there (since navigation): for benchmarks.
      document.body.dataset.loadMs = String(Math.round(performance.now() - begun));
      document.body.dataset.readyAt = String(Math.round(performance.now()));
    }).catch((error) => {
      status.textContent = "The table of tests could not be read: " + error;
    });
  }

  let pending = 0;
  function later() {
    // One selection per frame, however fast someone types.
    if (!typedAt) typedAt = performance.now();
    if (!pending) pending = requestAnimationFrame(() => { pending = 0; select(); });
  }
  search.addEventListener("input", later);
  for (const key in filters) filters[key].addEventListener("change", select);
  document.getElementById("filters").addEventListener("submit", (event) => event.preventDefault());
  more.addEventListener("click", () => { limit += PAGE; render(); });
  sortButton.addEventListener("click", () => {
    order = order === "descending" ? "ascending" : order === "ascending" ? "none" : "descending";
    sortHeader.setAttribute("aria-sort", order);
    select();
  });
  // Printed, the table holds what matches, up to 2,000 rows (not a 100,000-row book).
  window.addEventListener("beforeprint", () => { limit = Math.max(limit, Math.min(shown.length, 2000)); render(); });
  start();
})();
