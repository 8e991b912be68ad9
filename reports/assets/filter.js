// Filters the campaign's run table. Without JavaScript the table simply
// shows every run and the filter controls stay hidden.
(function () {
  var box = document.getElementById("filters");
  if (!box) { return; }
  box.hidden = false;
  var q = document.getElementById("run-filter");
  var st = document.getElementById("status-filter");
  var count = document.getElementById("run-count");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#runs tbody tr"));
  function apply() {
    var text = q.value.toLowerCase(), want = st.value, shown = 0;
    rows.forEach(function (r) {
      var ok = (!want || r.getAttribute("data-status") === want) &&
        (!text || r.textContent.toLowerCase().indexOf(text) >= 0);
      r.hidden = !ok;
      if (ok) { shown++; }
    });
    count.textContent = shown + " of " + rows.length + " runs shown";
  }
  q.addEventListener("input", apply);
  st.addEventListener("change", apply);
  Array.prototype.forEach.call(document.querySelectorAll("a[data-cell]"), function (a) {
    a.addEventListener("click", function () { q.value = a.getAttribute("data-cell"); apply(); });
  });
  apply();
})();
