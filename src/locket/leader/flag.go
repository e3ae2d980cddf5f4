package leader

import "sync"

// Flag reports whether a process leads: Leading is closed once Set is
// called. The zero Flag is ready to use and not set.
type Flag struct {
	once, set sync.Once
	ch        chan struct{}
}

func (f *Flag) init() { f.once.Do(func() { f.ch = make(chan struct{}) }) }

// Set marks the process as leading; later calls do nothing.
func (f *Flag) Set() {
	f.init()
	f.set.Do(func() { close(f.ch) })
}

// Leading is closed once Set has been called.
func (f *Flag) Leading() <-chan struct{} {
	f.init()
	return f.ch
}

// IsLeading reports whether Set has been called.
func (f *Flag) IsLeading() bool {
	select {
	case <-f.Leading():
		return true
	default:
		return false
	}
}
