// The progress page: polls /api/jobs/<id> until the run is done, failed or cancelled.
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root) { return; }
  var url = root.getAttribute("data-api");
  var bar = document.getElementById("job-progress"), pct = document.getElementById("job-pct");
  var state = document.getElementById("job-state"), links = document.getElementById("job-links");
  var cancel = document.getElementById("job-cancel");
  function link(id, href, text) {
    var a = document.createElement("a");
    a.className = "button"; a.id = id; a.href = href; a.textContent = text;
    links.appendChild(a); links.appendChild(document.createTextNode(" "));
  }
  function poll() {
    fetch(url, {cache: "no-store", credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (j) {
      bar.value = j.progress; pct.textContent = Math.round(j.progress * 100) + "%";
      state.textContent = j.message; state.setAttribute("data-state", j.state);
      if (!j.active && cancel) { cancel.hidden = true; }
      if (j.state === "done") {
        var id = encodeURIComponent(j.run_id);
        links.textContent = "";
        link("open-report", "/runs/" + id + "/report", "Open the report");
        link("open-run", "/runs/" + id, "Run and tables");
        link("open-citizens", "/runs/" + id + "/citizen", "Explore citizens");
        return;
      }
      if (j.state === "failed") { state.className = "msg"; return; }
      if (j.state === "cancelled") { return; }
      setTimeout(poll, 400);
    }).catch(function () { setTimeout(poll, 1500); });
  }
  poll();
})();
