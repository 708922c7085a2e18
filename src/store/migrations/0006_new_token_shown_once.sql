-- A token made in the dashboard waits here for the one page that shows
-- it (POST, then redirect, then GET): sealed with the session id, which
-- only the browser holds in clear, and cleared by that GET.
ALTER TABLE sessions ADD COLUMN new_token BLOB;
