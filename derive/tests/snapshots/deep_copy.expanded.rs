#[automatically_derived]
impl<T: ::crdforge::DeepCopy> ::crdforge::DeepCopy for Wrapper<T> {
    #[inline]
    fn deep_copy_into(&self, out: &mut Self) {
        <Vec<T> as ::crdforge::DeepCopy>::deep_copy_into(&self.items, &mut out.items);
        <Handle as ::core::clone::Clone>::clone_from(&mut out.handle, &self.handle);
    }
    #[inline]
    fn deep_copy(&self) -> Self {
        Self {
            items: <Vec<T> as ::crdforge::DeepCopy>::deep_copy(&self.items),
            handle: <Handle as ::core::clone::Clone>::clone(&self.handle),
        }
    }
}
#[automatically_derived]
impl ::crdforge::DeepCopy for Source {
    #[inline]
    fn deep_copy_into(&self, out: &mut Self) {
        match (self, out) {
            (Self::Git { url: __from_0 }, Self::Git { url: __out_0 }) => {
                <String as ::crdforge::DeepCopy>::deep_copy_into(__from_0, __out_0);
            }
            (
                Self::Local { 0: __from_0, 1: __from_1 },
                Self::Local { 0: __out_0, 1: __out_1 },
            ) => {
                <::crdforge::__private::fallback::Via<
                    { __CRDFORGE_FALLBACK_COPY_07BC6A25E09E24F7 },
                    false,
                    PathBuf,
                    PathBuf,
                > as ::crdforge::__private::fallback::CopyVia>::deep_copy_into(
                    __from_0,
                    __out_0,
                );
                <u8 as ::crdforge::DeepCopy>::deep_copy_into(__from_1, __out_1);
            }
            #[allow(unreachable_patterns)]
            (__from, __out) => *__out = ::crdforge::DeepCopy::deep_copy(__from),
        }
    }
    #[inline]
    fn deep_copy(&self) -> Self {
        match self {
            Self::Git { url: __from_0 } => {
                Self::Git {
                    url: <String as ::crdforge::DeepCopy>::deep_copy(__from_0),
                }
            }
            Self::Local { 0: __from_0, 1: __from_1 } => {
                Self::Local {
                    0: <::crdforge::__private::fallback::Via<
                        { __CRDFORGE_FALLBACK_COPY_07BC6A25E09E24F7 },
                        false,
                        PathBuf,
                        PathBuf,
                    > as ::crdforge::__private::fallback::CopyVia>::deep_copy(__from_0),
                    1: <u8 as ::crdforge::DeepCopy>::deep_copy(__from_1),
                }
            }
        }
    }
}
