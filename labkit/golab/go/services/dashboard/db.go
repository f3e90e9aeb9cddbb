package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	_ "github.com/lib/pq"           // PostgreSQL, pure Go: a query waits on the netpoller
	_ "github.com/mattn/go-sqlite3" // SQLite, cgo: a query is a C call that holds its thread
)

// ExitDatabase is the exit status when the database cannot be opened, seeded or calibrated.
const ExitDatabase = 4

// point is one row of a dashboard: chapter 5's payload ({series, ts, value, host}).
type point struct {
	Series string  `json:"series"`
	TS     int64   `json:"ts"`
	Value  float64 `json:"value"`
	Host   string  `json:"host"`
}

// engine is the database behind the dashboard and the SQL it speaks. A query is slow inside
// the engine, never in Go: with slow "work" it first counts a recursive CTE up to n rows (real
// work in the engine's executor; n is the planned time times the rate calibrate measured), with
// slow "sleep" (PostgreSQL only) it waits in pg_sleep. Both stop when the query is cancelled:
// go-sqlite3 calls sqlite3_interrupt when the context ends, lib/pq sends PostgreSQL a cancel
// request, and the server aborts the statement.
type engine struct {
	kind, slow string
	db         *sql.DB
	perMs      float64 // CTE rows counted per ms (slow "work")
	query      string
}

const (
	sqliteSpin = `WITH RECURSIVE spin(n) AS (SELECT 0 UNION ALL SELECT n+1 FROM spin WHERE n < ?1) `
	pgSpin     = `WITH RECURSIVE spin(n) AS (SELECT 0::bigint UNION ALL SELECT n+1 FROM spin WHERE n < $1) `
	selectRows = `SELECT p.series, p.ts, p.value, p.host FROM points p WHERE p.dashboard = `
)

func openEngine(kind, dsn, slow string, pool int) (*engine, error) {
	e := &engine{kind: kind, slow: slow}
	driver := map[string]string{"sqlite": "sqlite3", "postgres": "postgres"}[kind]
	switch {
	case driver == "":
		return nil, fmt.Errorf("-db must be sqlite or postgres, got %q", kind)
	case slow != "work" && slow != "sleep":
		return nil, fmt.Errorf("-slow must be work or sleep, got %q", slow)
	case kind == "sqlite" && slow == "sleep":
		return nil, fmt.Errorf("SQLite has no sleep inside the engine; use -slow=work")
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(pool)
	db.SetMaxIdleConns(pool)
	e.db = db
	switch {
	case kind == "sqlite":
		e.query = sqliteSpin + selectRows + `?2 AND (SELECT count(*) FROM spin) >= 0 ORDER BY p.ts`
	case slow == "work":
		e.query = pgSpin + selectRows + `$2 AND (SELECT count(*) FROM spin) >= 0 ORDER BY p.ts`
	default:
		e.query = selectRows + `$2 AND (SELECT 1 FROM pg_sleep($1::float8 / 1000.0)) = 1 ORDER BY p.ts`
	}
	return e, nil
}

// seed creates the points table with rows points for each of dashboards dashboards, unless it
// already holds exactly that many.
func (e *engine) seed(ctx context.Context, dashboards, rows int) error {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS points (dashboard INTEGER NOT NULL, ts BIGINT NOT NULL,
			series TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, host TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS points_dashboard_ts ON points (dashboard, ts)`,
	}
	if e.kind == "sqlite" {
		stmts = append([]string{`PRAGMA journal_mode=WAL`}, stmts...)
	}
	for _, s := range stmts {
		if _, err := e.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	var have int
	if err := e.db.QueryRowContext(ctx, `SELECT count(*) FROM points`).Scan(&have); err != nil {
		return err
	}
	if have == dashboards*rows {
		return nil
	}
	// Values from the row number: series-0..6, host-00..12, a value that wanders 0..99.9.
	cols := `SELECT i / %[1]d, 1700000000000 + (i %% %[1]d) * 1000, 'series-' || (i %% 7),
		((i * 7919) %% 1000) / 10.0, 'host-' || (i %% 13) FROM `
	var insert string
	if e.kind == "sqlite" {
		insert = `INSERT INTO points WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM g
			WHERE i+1 < %[2]d) ` + cols + `g`
	} else {
		insert = `INSERT INTO points ` + cols + `generate_series(0, %[2]d - 1) AS i`
	}
	if _, err := e.db.ExecContext(ctx, `DELETE FROM points`); err != nil {
		return err
	}
	_, err := e.db.ExecContext(ctx, fmt.Sprintf(insert, rows, dashboards*rows))
	return err
}

// calibrate measures how many CTE rows the engine counts per ms (the fastest of 3 runs of
// 200,000), so that a query planned to take d ms counts d * perMs rows.
func (e *engine) calibrate(ctx context.Context) error {
	if e.slow != "work" {
		return nil
	}
	const n = 200_000
	spin := sqliteSpin
	if e.kind == "postgres" {
		spin = pgSpin
	}
	best := time.Duration(1 << 62)
	for range 3 {
		var count int64
		t := time.Now()
		if err := e.db.QueryRowContext(ctx, spin+`SELECT count(*) FROM spin`, n).Scan(&count); err != nil {
			return fmt.Errorf("calibration query: %w", err)
		}
		best = min(best, time.Since(t))
		if count != n+1 {
			return fmt.Errorf("calibration query counted %d rows, not %d", count, n+1)
		}
	}
	e.perMs = n / (float64(best) / 1e6)
	return nil
}

// fetch runs the dashboard's query, planned to spend planMs inside the engine, and scans its
// rows. visit is called for each row in order (the streaming handler encodes it there).
func (e *engine) fetch(ctx context.Context, id int, planMs float64, visit func(point) error) error {
	var arg any = planMs
	if e.slow == "work" {
		arg = int64(planMs * e.perMs)
	}
	rows, err := e.db.QueryContext(ctx, e.query, arg, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p point
		if err := rows.Scan(&p.Series, &p.TS, &p.Value, &p.Host); err != nil {
			return err
		}
		if err := visit(p); err != nil {
			return err
		}
	}
	return rows.Err()
}
