/* Lumen & Leaf storefront: every listing is rendered client-side from /api/products.
   The grid loads page 1, appends further pages on scroll (infinite feed) and also renders a
   rel=next link, so a browser crawler can either scroll or follow pagination. */
(function () {
  "use strict";
  var boot = window.__STORE__ || {};
  var app = document.getElementById("app");

  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function money(p) {
    return new Intl.NumberFormat("en-US", {style: "currency", currency: p.currency}).format(p.price);
  }
  function getJSON(url) {
    return fetch(url, {headers: {"Accept": "application/json", "X-Requested-With": "fetch"}})
      .then(function (r) { return r.json().then(function (body) { return {status: r.status, body: body}; }); });
  }

  function card(p) {
    var a = el("a", {"class": "product-card", "href": "/product/" + p.id, "data-listing-id": p.id});
    a.appendChild(el("span", {"class": "card-category"}, p.category));
    a.appendChild(el("h2", {"class": "card-title"}, p.title));
    a.appendChild(el("span", {"class": "card-price"}, money(p)));
    return a;
  }

  function renderGrid() {
    var page = parseInt(new URLSearchParams(location.search).get("page") || "1", 10);
    var loading = false, nextPage = page, pages = null;
    app.innerHTML = "";
    app.appendChild(el("h1", {"class": "page-title"}, "Shop all"));
    var grid = el("div", {"class": "grid", "id": "product-grid"});
    var pager = el("nav", {"class": "pager"});
    app.appendChild(grid);
    app.appendChild(pager);

    function load() {
      if (loading || (pages !== null && nextPage > pages)) return Promise.resolve();
      loading = true;
      return getJSON("/api/products?page=" + nextPage).then(function (res) {
        res.body.items.forEach(function (p) { grid.appendChild(card(p)); });
        pages = res.body.pages;
        nextPage = res.body.page + 1;
        pager.innerHTML = "";
        pager.appendChild(el("span", {"class": "count"}, res.body.total + " products"));
        if (page < pages) {
          pager.appendChild(el("a", {"class": "next", "rel": "next", "href": "/?page=" + (page + 1)}, "Next page →"));
        }
        app.setAttribute("data-loaded-pages", String(nextPage - page));
        loading = false;
      });
    }
    window.addEventListener("scroll", function () {
      if (window.innerHeight + window.scrollY >= document.body.scrollHeight - 200) load();
    });
    load();
  }

  function renderProduct(id) {
    getJSON("/api/products/" + encodeURIComponent(id)).then(function (res) {
      app.innerHTML = "";
      if (res.status !== 200) {
        var gone = el("div", {"class": "removed-notice"});
        gone.appendChild(el("h1", {}, "This product is no longer available"));
        gone.appendChild(el("p", {}, res.body.message || "It may have been discontinued."));
        app.appendChild(gone);
        document.title = "Not available – " + boot.site;
        return;
      }
      var p = res.body;
      document.title = p.title + " – " + boot.site;
      var art = el("article", {"class": "product", "data-listing-id": p.id});
      art.appendChild(el("nav", {"class": "breadcrumb"}, "Shop / " + p.category));
      art.appendChild(el("h1", {"class": "product-title"}, p.title));
      art.appendChild(el("p", {"class": "sku"}, "SKU " + p.id));
      var price = el("p", {"class": "price", "data-currency": p.currency}, money(p));
      art.appendChild(price);
      var dl = el("dl", {"class": "facts"});
      [["Sold by", "vendor", p.vendor], ["Ships from", "ships-from", p.ships_from],
       ["Ships to", "ships-to", p.ships_to]].forEach(function (f) {
        dl.appendChild(el("dt", {}, f[0]));
        dl.appendChild(el("dd", {"class": f[1]}, f[2]));
      });
      art.appendChild(dl);
      art.appendChild(el("div", {"class": "description"}, p.description));
      art.appendChild(el("button", {"class": "add-to-cart", "type": "button"}, "Add to cart"));
      app.appendChild(art);
      var ld = el("script", {"type": "application/ld+json"});
      ld.textContent = JSON.stringify({
        "@context": "https://schema.org", "@type": "Product", "name": p.title, "sku": p.id,
        "description": p.description, "category": p.category,
        "brand": {"@type": "Brand", "name": boot.site},
        "offers": {"@type": "Offer", "price": p.price.toFixed(2), "priceCurrency": p.currency,
                   "seller": {"@type": "Organization", "name": p.vendor}}
      });
      document.head.appendChild(ld);
    });
  }

  if (boot.view === "product") renderProduct(boot.id); else renderGrid();
})();
