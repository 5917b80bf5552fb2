// The directory's map: a marker for each listed merchant that has coordinates.
//
// The merchants come from the list on the page (data-latitude, data-longitude, data-name,
// data-category on each <li>), so the map shows exactly what the search found and the page
// needs no inline script. Tiles come from the server's setting (data-tiles); without one the
// markers stand on a blank background, as on a city's closed network.
(function () {
  "use strict";

  function located(item) {
    return {
      id: item.id,
      name: item.dataset.name,
      category: item.dataset.category,
      latitude: Number(item.dataset.latitude),
      longitude: Number(item.dataset.longitude),
    };
  }

  // Names are text, never markup: the popup is built from text nodes.
  function popup(merchant) {
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = merchant.name;
    var category = document.createElement("span");
    category.textContent = merchant.category;
    box.appendChild(name);
    box.appendChild(category);
    return box;
  }

  function draw(element) {
    var items = document.querySelectorAll("#merchants li[data-latitude]");
    if (!items.length || typeof L === "undefined") {
      return;
    }
    element.hidden = false;
    element.setAttribute("role", "region");
    element.setAttribute("aria-label", element.dataset.label);
    var map = L.map(element, { scrollWheelZoom: false });
    if (element.dataset.tiles) {
      L.tileLayer(element.dataset.tiles, {
        maxZoom: 19,
        attribution: element.dataset.attribution,
      }).addTo(map);
    } else {
      element.classList.add("blank");
    }
    var points = [];
    Array.prototype.forEach.call(items, function (item) {
      var merchant = located(item);
      var point = [merchant.latitude, merchant.longitude];
      points.push(point);
      L.marker(point, { title: merchant.name, alt: merchant.name })
        .bindPopup(popup(merchant))
        .addTo(map);
    });
    map.fitBounds(L.latLngBounds(points).pad(0.2), { maxZoom: 16 });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var element = document.getElementById("map");
    if (element) {
      draw(element);
    }
  });
})();
