package list

import (
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/tui/styles"
)

// Local is a list the market returns whole (a library, the claims, the
// matches): it keeps every item and hands the list the page holding the
// selection itself, so moving never asks the store again.
type Local[T any] struct {
	Model[T]
	all []T
}

// NewLocal returns an empty list.
func NewLocal[T any](st *styles.Styles, render RenderFunc[T]) Local[T] {
	return Local[T]{Model: New(st, render)}
}

// SetItems stores every item and shows the page holding the selection.
func (l *Local[T]) SetItems(items []T) {
	l.all = items
	l.page()
}

// All is every item.
func (l *Local[T]) All() []T { return l.all }

// SetSize sets the width and the rows per page, and pages again.
func (l *Local[T]) SetSize(width, rows int) {
	l.Model.SetSize(width, rows)
	if l.Loaded() {
		l.page()
	}
}

// Update moves the selection, paging as it goes. It reports whether the
// key was a list key.
func (l *Local[T]) Update(msg tea.KeyMsg) bool {
	handled, fetch := l.Model.Update(msg)
	if fetch {
		l.page()
	}
	return handled
}

// page hands the list the slice holding its selection.
func (l *Local[T]) page() {
	off := min(l.WantOffset(), len(l.all))
	end := min(len(l.all), off+l.PageSize())
	l.Model.SetPage(l.all[off:end], off, len(l.all))
}
