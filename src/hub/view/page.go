package view

// MaxPerPage bounds per_page; DefaultPerPage is used when none is given.
const (
	MaxPerPage     = 500
	DefaultPerPage = 50
)

// Page is one page of a list endpoint.
type Page[T any] struct {
	Items   []T `json:"items"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Total   int `json:"total"`
}

// Paginate returns page (1-based) of items with perPage rows: page < 1 is
// 1, perPage < 1 is DefaultPerPage and more than MaxPerPage is MaxPerPage.
// Items is never nil (an empty page encodes as []).
func Paginate[T any](items []T, page, perPage int) Page[T] {
	if page < 1 {
		page = 1
	}
	if perPage < 1 {
		perPage = DefaultPerPage
	}
	if perPage > MaxPerPage {
		perPage = MaxPerPage
	}
	p := Page[T]{Page: page, PerPage: perPage, Total: len(items), Items: []T{}}
	start := (page - 1) * perPage
	if start >= len(items) || start < 0 {
		return p
	}
	end := min(start+perPage, len(items))
	p.Items = items[start:end:end]
	return p
}
