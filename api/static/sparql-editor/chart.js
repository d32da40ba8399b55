// A YASR plugin for the SPARQL editor: a SELECT result with a numeric column drawn as a bar chart by Chart.js
// (vendored under ./chartjs). YASGUI's own chart plugin loads Google Charts from the web; this one loads nothing.
// The first column that is not numeric names the bars (IRIs written with the graph's prefixes); each numeric
// column is one series. Registered before the editor starts (editor.js), offered beside Table and Response.
(function () {
  "use strict";
  var NUMERIC = /#(integer|decimal|double|float|long|int|short|byte|nonNegativeInteger|positiveInteger|unsignedInt|unsignedLong)$/;
  var MAX_BARS = 200;
  var prefixes = JSON.parse(document.getElementById("tkg-editor-config").textContent).prefixes;

  function isNumber(term) {
    return Boolean(term) && term.type !== "uri" && term.type !== "bnode" && NUMERIC.test(term.datatype || "");
  }

  function shown(term) {
    if (!term) return "(unbound)";
    if (term.type === "uri") {
      for (var name in prefixes) {
        if (term.value.indexOf(prefixes[name]) === 0) return name + ":" + term.value.slice(prefixes[name].length);
      }
    }
    return term.value;
  }

  function columns(results) {
    if (!results || typeof results.getVariables !== "function" || typeof results.getBindings !== "function") {
      return null;
    }
    var variables = results.getVariables() || [];
    var rows = results.getBindings() || [];
    if (!rows.length) return null;
    var numeric = variables.filter(function (v) {
      return rows.some(function (row) { return row[v]; }) && rows.every(function (row) { return !row[v] || isNumber(row[v]); });
    });
    var names = variables.filter(function (v) { return numeric.indexOf(v) < 0; });
    if (!numeric.length || !names.length) return null;
    return { name: names[0], series: numeric, rows: rows.slice(0, MAX_BARS) };
  }

  function ChartPlugin(yasr) {
    this.yasr = yasr;
    this.priority = 5; // below the table: a result opens as a table, the chart is one click away
    this.label = "Chart";
    this.chart = null;
  }

  ChartPlugin.prototype.canHandleResults = function () {
    return columns(this.yasr.results) !== null;
  };

  ChartPlugin.prototype.draw = function () {
    var found = columns(this.yasr.results);
    var holder = document.createElement("div");
    holder.className = "tkg-chart";
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute(
      "aria-label",
      "Bar chart of " + found.series.join(", ") + " by " + found.name + " (" + found.rows.length + " bars); the Table view lists the same values"
    );
    holder.appendChild(canvas);
    this.yasr.resultsEl.appendChild(holder);
    this.chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: found.rows.map(function (row) { return shown(row[found.name]); }),
        datasets: found.series.map(function (variable) {
          return {
            label: variable,
            data: found.rows.map(function (row) { return row[variable] ? Number(row[variable].value) : null; }),
          };
        }),
      },
      options: { indexAxis: "y", animation: false, responsive: true, maintainAspectRatio: false },
    });
  };

  ChartPlugin.prototype.getIcon = function () {
    var icon = document.createElement("span");
    icon.className = "tkg-chart-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = "▤";
    return icon;
  };

  ChartPlugin.prototype.destroy = function () {
    if (this.chart) {
      this.chart.destroy();
      this.chart = null;
    }
  };

  Yasr.registerPlugin("chart", ChartPlugin);
})();
