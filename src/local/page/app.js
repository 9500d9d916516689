// The status page's script: polls GET /status?detail=full once a second
// (the session cookie is the credential) and redraws in place. Every cell
// has a fixed size, so an update never moves the layout.

const POLL_MS = 1000;
const state = { sortKey: 'fileSystemPath', sortDir: 1, filter: '', selected: null, chart: null, last: null };

const $ = (selector) => document.querySelector(selector);

function escapeHtml(value) {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function seconds(s) {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} m`;
}

function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : '–';
}

function sparkline(series) {
  if (!series) return '<svg class="spark" viewBox="0 0 90 22" preserveAspectRatio="none"></svg>';
  const max = Math.max(...series, 0.1);
  const points = series.map((v, i) => `${i},${(21 - (v / max) * 20).toFixed(1)}`).join(' ');
  return `<svg class="spark" viewBox="0 0 90 22" preserveAspectRatio="none"><polyline points="${points}"/></svg>`;
}

function sortValue(row, key) {
  if (key === 'bytesMoved') return (row.bytes?.imported ?? 0) + (row.bytes?.exported ?? 0);
  if (key === 'deletes') return row.deleteBudget.deletesInWindow;
  return row[key] ?? -1;
}

function renderSummary(status) {
  const t = status.transfers;
  $('#s-idle').textContent = status.idle ? 'idle' : 'syncing';
  $('#s-pending').textContent = String(status.pending.changes);
  $('#s-oldest').textContent = seconds(status.pending.oldestAgeSeconds);
  $('#s-transfers').textContent = String(t.total);
  $('#s-bytes').textContent = `${bytes(status.bytes.imported)} / ${bytes(status.bytes.exported)}`;
  $('#s-conflicts').textContent = String(status.conflicts);
  $('#s-failed').textContent = String(status.failed + status.rejected + status.deadLettered);
  $('#s-updated').textContent = time(status.generatedAt);
}

function renderAssociations(rows) {
  const filter = state.filter.toLowerCase();
  const shown = rows
    .filter(
      (a) =>
        !filter ||
        [a.fileSystemPath, a.dataRepositoryPath, a.associationId, a.lifecycle].some((f) =>
          f.toLowerCase().includes(filter),
        ),
    )
    .sort((a, b) => {
      const x = sortValue(a, state.sortKey);
      const y = sortValue(b, state.sortKey);
      return (x < y ? -1 : x > y ? 1 : 0) * state.sortDir;
    });
  $('#a-count').textContent = `(${shown.length} of ${rows.length})`;
  $('#associations tbody').innerHTML = shown
    .map((a) => {
      const budget = a.deleteBudget;
      return `<tr data-id="${escapeHtml(a.associationId)}" class="${a.associationId === state.selected ? 'selected' : ''}">
        <td title="${escapeHtml(a.associationId)}">${escapeHtml(a.fileSystemPath)}</td>
        <td>${escapeHtml(a.dataRepositoryPath)}</td>
        <td><span class="lc-${escapeHtml(a.lifecycle)}">${escapeHtml(a.lifecycle)}</span>${
          a.failureDetails
            ? `<span class="detail" title="${escapeHtml(a.failureDetails.message)}">${escapeHtml(a.failureDetails.message)}</span>`
            : ''
        }</td>
        <td class="num">${a.pathsInSync ?? '…'}</td>
        <td class="num" data-field="pending">${a.pendingChanges}</td>
        <td class="num">${seconds(a.oldestPendingAgeSeconds)}</td>
        <td title="${a.transfersLastMinute} in the last minute">${sparkline(a.transfersPerSecond)}</td>
        <td class="num" data-field="bytes">${bytes(a.bytes?.imported ?? 0)} / ${bytes(a.bytes?.exported ?? 0)}</td>
        <td class="num" title="deletes in the last ${budget.windowSeconds / 60} minutes">${budget.paused ? 'paused' : budget.deletesInWindow}</td>
        <td class="num">${a.conflicts}</td>
      </tr>`;
    })
    .join('');
}

function renderTasks(tasks) {
  $('#tasks tbody').innerHTML = tasks
    .map((task) => {
      const { totalCount, succeededCount, failedCount } = task.status;
      const done = succeededCount + failedCount;
      const percent =
        totalCount > 0 ? Math.min(100, Math.round((done / totalCount) * 100)) : task.endTime ? 100 : 0;
      const started = task.startTime ? Date.parse(task.startTime) : undefined;
      const ended = task.endTime ? Date.parse(task.endTime) : Date.now();
      const elapsed = started ? Math.max(0.001, (ended - started) / 1000) : undefined;
      const rate = elapsed ? done / elapsed : undefined;
      const eta =
        !task.endTime && rate && totalCount > done
          ? (totalCount - done) / rate
          : task.endTime
            ? 0
            : undefined;
      const report = task.reportUrl ?? '';
      return `<tr data-task="${escapeHtml(task.taskId)}">
        <td>${escapeHtml(task.taskId)}</td>
        <td>${escapeHtml(task.type)}</td>
        <td><span class="lc-${escapeHtml(task.lifecycle)}">${escapeHtml(task.lifecycle)}</span></td>
        <td><div class="bar" role="progressbar" aria-valuenow="${percent}" aria-valuemin="0" aria-valuemax="100"><span style="width:${percent}%"></span><em>${percent} % · ${done}/${totalCount}</em></div></td>
        <td class="num">${rate === undefined ? '–' : `${rate.toFixed(1)}/s`}</td>
        <td class="num">${eta === undefined ? '–' : seconds(eta)}</td>
        <td>${report ? `<a href="${escapeHtml(report)}" title="${escapeHtml(report)}">${escapeHtml(report)}</a>` : '–'}</td>
      </tr>`;
    })
    .join('');
}

function renderRecent(status) {
  $('#conflicts tbody').innerHTML = [...status.recentConflicts]
    .reverse()
    .map(
      (c) =>
        `<tr><td>${time(c.at)}</td><td title="${escapeHtml(c.associationId)}">${escapeHtml(c.path)}</td><td>${escapeHtml(c.resolution)}${c.keptAs ? ` → ${escapeHtml(c.keptAs)}` : ''}</td></tr>`,
    )
    .join('');
  $('#failures tbody').innerHTML = [...status.problems]
    .reverse()
    .map(
      (p) =>
        `<tr><td>${time(p.at)}</td><td title="${escapeHtml(p.message)}">${escapeHtml(p.path ?? p.key ?? '')}</td><td>${escapeHtml(p.code)}</td></tr>`,
    )
    .join('');
}

function renderChart(status) {
  const selected = state.selected && status.associations.find((a) => a.associationId === state.selected);
  const now = Math.floor(Date.parse(status.generatedAt) / 1000);
  let xs;
  let ys;
  if (selected) {
    const series = selected.transfersPerSecond ?? new Array(90).fill(0);
    xs = series.map((_, i) => now - (series.length - 1 - i) * 10);
    ys = series;
    $('#chart-label').textContent = `(${selected.fileSystemPath}, 10 s buckets)`;
  } else {
    ys = status.transfersPerSecond;
    xs = ys.map((_, i) => now - (ys.length - 1 - i));
    $('#chart-label').textContent = '(all associations)';
  }
  const container = $('#chart');
  if (!state.chart) {
    state.chart = new uPlot(
      {
        width: container.clientWidth,
        height: 200,
        legend: { show: false },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        series: [{}, { label: 'transfers/s', stroke: '#2563eb', fill: 'rgba(37,99,235,0.12)' }],
        axes: [{}, { size: 50 }],
      },
      [xs, ys],
      container,
    );
    window.addEventListener('resize', () =>
      state.chart.setSize({ width: container.clientWidth, height: 200 }),
    );
  } else {
    state.chart.setData([xs, ys]);
  }
  container.dataset.total = String(ys.reduce((a, b) => a + b, 0));
}

async function poll() {
  try {
    const response = await fetch('/status?detail=full', { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`GET /status: ${response.status}`);
    const status = await response.json();
    state.last = status;
    renderSummary(status);
    renderAssociations(status.associations);
    renderTasks(status.tasks);
    renderRecent(status);
    renderChart(status);
    document.body.dataset.updated = status.generatedAt;
  } catch (error) {
    $('#s-updated').textContent = `offline (${error.message})`;
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

for (const th of document.querySelectorAll('#associations th[data-key]')) {
  th.addEventListener('click', () => {
    const key = th.dataset.key;
    state.sortDir = state.sortKey === key ? -state.sortDir : 1;
    state.sortKey = key;
    for (const other of document.querySelectorAll('#associations th')) other.removeAttribute('aria-sort');
    th.setAttribute('aria-sort', state.sortDir === 1 ? 'ascending' : 'descending');
    if (state.last) renderAssociations(state.last.associations);
  });
}
$('#filter').addEventListener('input', (event) => {
  state.filter = event.target.value;
  if (state.last) renderAssociations(state.last.associations);
});
$('#associations tbody').addEventListener('click', (event) => {
  const row = event.target.closest('tr');
  if (!row) return;
  state.selected = state.selected === row.dataset.id ? null : row.dataset.id;
  if (state.last) {
    renderAssociations(state.last.associations);
    renderChart(state.last);
  }
});
poll();
