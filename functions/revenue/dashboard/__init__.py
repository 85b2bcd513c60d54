"""The revenue dashboard's files (index.html, dashboard.css, dashboard.js, vendor/) and their
loader: the page is served by ``revenue.handlers.dashboard_routes``."""
