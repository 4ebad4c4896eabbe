package browser

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Two browsers with two pages each, all evaluating at once: every answer
// must come back to the page that asked.
func TestTwoBrowsers(t *testing.T) {
	requireChromium(t)
	srv := serve(t, testPage)
	ctx := testContext(t, 25*time.Second)

	var browsers [2]*Browser
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := Launch(ctx, Options{Width: 640, Height: 480})
			if err != nil {
				errs <- err
				return
			}
			browsers[i] = b
		}()
	}
	wg.Wait()
	for _, b := range browsers {
		if b != nil {
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Error(err)
				}
			})
		}
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}

	var pages []*Page
	for _, b := range browsers {
		for range 2 {
			pages = append(pages, newPage(t, ctx, b))
		}
	}
	for i, p := range pages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Navigate(ctx, srv.URL); err != nil {
				errs <- err
				return
			}
			if err := p.Eval(ctx, fmt.Sprintf("window.mark = %d", i), nil); err != nil {
				errs <- err
				return
			}
			for j := range 50 {
				var got [2]int
				expr := fmt.Sprintf("[window.mark, %d]", j)
				if err := p.Eval(ctx, expr, &got); err != nil {
					errs <- err
					return
				}
				if got != [2]int{i, j} {
					errs <- fmt.Errorf("page %d: Eval(%s) = %v", i, expr, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
