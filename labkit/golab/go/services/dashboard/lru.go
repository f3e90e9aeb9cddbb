package main

import (
	"container/list"
	"sync"
)

// lru keeps the last good JSON body of the most recently served dashboards: what a handler
// falls back to when its query fails or misses its deadline (chapter 5's third fix).
type lru struct {
	mu    sync.Mutex
	cap   int
	order *list.List // front: most recently used; values are *lruEntry
	byKey map[int]*list.Element
}

type lruEntry struct {
	key  int
	body []byte
}

func newLRU(capacity int) *lru {
	return &lru{cap: capacity, order: list.New(), byKey: make(map[int]*list.Element)}
}

func (c *lru) get(key int) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry).body, true
}

func (c *lru) put(key int, body []byte) {
	if c.cap <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		el.Value.(*lruEntry).body = body
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&lruEntry{key, body})
	for c.order.Len() > c.cap {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*lruEntry).key)
	}
}
