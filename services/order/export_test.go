package order

import (
	"github.com/opencommerce/opencommerce/services/order/payment"
)

// WrapProvider wraps the payment provider built at Start (call before
// Start); tests simulate crashes and outages with it.
func (s *Service) WrapProvider(f func(payment.Provider) payment.Provider) { s.wrapProvider = f }
